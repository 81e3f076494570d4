-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments.
-- @include message
-- deadLetterFields(fields, reason, entryId): the dead-letter entry for a stream entry's fields,
-- read unpacked: the callers pass entryFields' list, a packed entry's task fields flat, so a j
-- left there is not the one the entry's readers took its fields from (refused, or a second j).
-- Anyone can XADD to a stream, so an entry may carry thousands of fields: Lua's unpack() fails
-- past a few thousand values, and a script that fails after its first write leaves half a
-- change. An entry with more than MAX_DEAD_LETTER_FIELDS pairs keeps only the task's fields
-- (TASK_FIELDS, includes/message.lua: fl, gr, pr and t too, which its redrive puts back), the
-- first value of each name as every reader takes it (fieldOf, entryFields, the worker's parser,
-- the listings), so repeated names crowd none out and at most one pair a name is kept; it says how
-- many pairs it dropped. Call it before the script's first write.
local MAX_DEAD_LETTER_FIELDS = 64
local IS_TASK_FIELD = {}
for _, name in ipairs(TASK_FIELDS) do IS_TASK_FIELD[name] = true end

local function deadLetterFields(fields, reason, entryId)
  local out = {}
  if #fields <= MAX_DEAD_LETTER_FIELDS * 2 then
    for i = 1, #fields do out[i] = fields[i] end
  else
    local kept = {}
    for i = 1, #fields - 1, 2 do
      local name = fields[i]
      if IS_TASK_FIELD[name] and not kept[name] then
        kept[name] = true
        out[#out + 1] = name; out[#out + 1] = fields[i + 1]
      end
    end
    local dropped = math.floor(#fields / 2) - #out / 2
    out[#out + 1] = 'dropped-fields'; out[#out + 1] = string.format('%d', dropped)
  end
  out[#out + 1] = 'reason'; out[#out + 1] = reason
  out[#out + 1] = 'entry'; out[#out + 1] = entryId
  return out
end

-- fieldOf(fields, name): the first value of field `name` in a flat field list, or nil.
local function fieldOf(fields, name)
  for i = 1, #fields - 1, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end

-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments.
-- deadLetterFields(fields, reason, entryId): the dead-letter entry for a stream entry's fields.
-- Anyone can XADD to a stream, so an entry may carry thousands of fields: Lua's unpack() fails
-- past a few thousand values, and a script that fails after its first write leaves half a
-- change. An entry with more than MAX_DEAD_LETTER_FIELDS pairs keeps only the task's own fields,
-- and says how many it dropped. Call it before the script's first write.
local MAX_DEAD_LETTER_FIELDS = 64
local TASK_FIELDS = {id = true, n = true, p = true, a = true, k = true, g = true, d = true, r = true}

local function deadLetterFields(fields, reason, entryId)
  local out = {}
  if #fields <= MAX_DEAD_LETTER_FIELDS * 2 then
    for i = 1, #fields do out[i] = fields[i] end
  else
    for i = 1, #fields - 1, 2 do
      if TASK_FIELDS[fields[i]] and #out < 32 then
        out[#out + 1] = fields[i]; out[#out + 1] = fields[i + 1]
      end
    end
    out[#out + 1] = 'dropped-fields'; out[#out + 1] = tostring(math.floor(#fields / 2) - #out / 2)
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

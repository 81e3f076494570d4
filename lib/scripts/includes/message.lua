-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments.
-- A task travels as stream fields: id (task id), n (name), p (JSON payload), a (attempt),
-- for keyed tasks k (key) and g (generation), and for periodic runs d (the due time of the
-- run's slot), and r ('1': keep the result even when the handler returns nothing; set on
-- tasks that went through the delayed set, whose result() cannot tell them settled otherwise),
-- and t (the enqueue's trace context, written only while tracing is on); a task under flow
-- control (see flow.lua) also has fl ('1': it goes through admission, and holds slots once
-- admitted), gr (its group, when given) and pr (its priority, when given).
-- A delayed task is the same fields as one JSON object, the member of the
-- delayed sorted set. An entry that flow.lua admits from the waiting room is PACKED: its last
-- field, j, holds the task's fields as the JSON array its room member carries (name, value, ...),
-- after fields id and fl, so admission writes it without decoding it and a read returns six
-- values, not sixteen.

-- TASK_FIELDS: the names above, in the order toFields writes them; every task has the first
-- TASK_FIELDS_REQUIRED. The one list the scripts copy a task's fields by (toFields, isTaskMember,
-- enter-admission.lua, the dead letter of a wide entry: includes/dead-letter-entry.lua), so that
-- none drops a field the others keep: a dead letter without fl, gr, pr or t was redriven outside
-- its group and trace. Not j (read unpacked, entryFields) nor rl (admission adds it, rate.lua).
-- task-message.ts's TASK_FIELD_NAMES is the worker's copy (test/unit/task-field-names.spec.ts).
local TASK_FIELDS = {'id', 'n', 'p', 'a', 'k', 'g', 'd', 'r', 't', 'fl', 'gr', 'pr'}
local TASK_FIELDS_REQUIRED = 4

-- fieldList(text): the flat field list a JSON array of name/value strings holds, or nil for any
-- other text (an empty array too: XADD takes at least one field). The worker and the listings
-- decode j with JSON.parse (packed-fields.ts), which cjson does not match: it takes a raw control
-- character inside a string, which JSON.parse refuses. Text with any control character is
-- refused on both sides (cjson.encode, which writes j, escapes them all), so that both read one
-- task from an entry; JSON.parse's lone surrogates, which cjson refuses, are refused there.
local function fieldList(text)
  if string.find(text, '[%z\1-\31]') then return nil end
  local decoded, list = pcall(cjson.decode, text)
  if not decoded or type(list) ~= 'table' or #list == 0 or #list % 2 ~= 0 then return nil end
  for i = 1, #list do
    if type(list[i]) ~= 'string' then return nil end
  end
  return list
end

-- entryFields(fields): a stream entry's task fields as a flat list: a packed entry's unpacked
-- (its first field j replaced by the fields it holds, which come after the flat ones before it,
-- and before any after it: a dead letter an older version copied adds its reason there), any
-- other entry's as they are. A j that fieldList refuses stays as it is: the entry then names no
-- task by its fields, and is read as the malformed entry it is. The first value of a name counts.
local function entryFields(fields)
  local at
  for i = 1, #fields - 1, 2 do
    if fields[i] == 'j' then at = i; break end
  end
  local packed = at and fieldList(fields[at + 1])
  if not packed then return fields end
  local out, named = {}, {}
  local function add(name, value)
    if not named[name] then out[#out + 1] = name; out[#out + 1] = value; named[name] = true end
  end
  for i = 1, at - 1, 2 do add(fields[i], fields[i + 1]) end
  for i = 1, #packed - 1, 2 do add(packed[i], packed[i + 1]) end
  for i = at + 2, #fields - 1, 2 do add(fields[i], fields[i + 1]) end
  return out
end

-- encodeDelayed(fields): the delayed-set member for a flat field list.
local function encodeDelayed(fields)
  local m = {}
  for i = 1, #fields, 2 do m[fields[i]] = fields[i + 1] end
  return cjson.encode(m)
end

-- toFields(m): the stream fields of a decoded delayed member, in a stable order.
local function toFields(m)
  local fields = {}
  for i, name in ipairs(TASK_FIELDS) do
    if i <= TASK_FIELDS_REQUIRED or m[name] then
      fields[#fields + 1] = name
      fields[#fields + 1] = m[name]
    end
  end
  return fields
end

-- isTaskMember(m): a decoded delayed member that toFields can write: the task's fields are all
-- strings (a hand-written member could hold numbers, tables or nothing), checked before the
-- promoting script writes anything.
local function isTaskMember(m)
  if type(m) ~= 'table' then return false end
  for i, name in ipairs(TASK_FIELDS) do
    if type(m[name]) ~= 'string' and (i <= TASK_FIELDS_REQUIRED or m[name] ~= nil) then return false end
  end
  return true
end

-- A task travels as stream fields: id (task id), n (name), p (JSON payload), a (attempt),
-- and for keyed tasks k (key) and g (generation). A delayed task is the same fields as one
-- JSON object, the member of the delayed sorted set.

-- encodeDelayed(fields): the delayed-set member for a flat field list.
local function encodeDelayed(fields)
  local m = {}
  for i = 1, #fields, 2 do m[fields[i]] = fields[i + 1] end
  return cjson.encode(m)
end

-- toFields(m): the stream fields of a decoded delayed member, in a stable order.
local function toFields(m)
  local fields = {'id', m.id, 'n', m.n, 'p', m.p, 'a', m.a}
  if m.k then
    fields[#fields + 1] = 'k'; fields[#fields + 1] = m.k
    fields[#fields + 1] = 'g'; fields[#fields + 1] = m.g
  end
  return fields
end

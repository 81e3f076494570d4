-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments.
-- Stream entry ids are '<ms>-<seq>'; both parts fit a Lua number exactly.
local function idParts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end

-- idGreater(a, b): a comes after b in the stream.
local function idGreater(a, b)
  local am, as = idParts(a)
  local bm, bs = idParts(b)
  return am > bm or (am == bm and as > bs)
end

-- idAfter(id): the smallest id greater than `id`.
local function idAfter(id)
  local ms, seq = idParts(id)
  return string.format('%d-%d', ms, seq + 1)
end

-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments.
-- Stream entry ids are '<ms>-<seq>'; both parts fit a Lua number exactly.
local function idParts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end

-- isEntryId(text): an explicit entry id Redis accepts ('<ms>-<seq>', each part at most 2^64-1,
-- written without leading zeros as Redis writes it), so no stream command fails on it.
local function idPartFits(digits)
  return #digits < 20 or (#digits == 20 and digits <= '18446744073709551615')
end
local function isEntryId(text)
  local ms, seq = string.match(text, '^(%d+)-(%d+)$')
  return ms ~= nil and idPartFits(ms) and idPartFits(seq)
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

-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments.
-- @include rcall
-- layoutRefusal(layoutKey, count): nil when this partition belongs to a layout of `count`
-- partitions (no record means 1), else the error reply the script returns before writing
-- anything: 'LAYOUT <stored> <count>' (a switch in progress stores '<from>><to>').
local function layoutRefusal(layoutKey, count)
  local stored = rcall('GET', layoutKey) or '1'
  if stored == count then return nil end
  return redis.error_reply('LAYOUT ' .. stored .. ' ' .. count)
end

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

-- workerCountHolds(record, count): whether a worker mapping `count` partitions acts under the
-- layout record `record` (its GET reply; false when absent): the record says that count, or it is
-- gone. Gone under a count of 1, nothing was ever changed; gone under more, Redis lost it (a count
-- change to 1 writes '1': layout.lua), and the count is the worker's until lost-layouts.ts
-- records it again. Producers refuse instead (layoutRefusal): they are the ones that restore it.
local function workerCountHolds(record, count)
  return record == false or record == count
end

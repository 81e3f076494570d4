--[[
  KEYS: stream [, the partition's flow keys]. ARGV: group, consumer, then 4 values per entry
  (details below).
  Give back the deliveries of entries this consumer lets go without having started their runs
  (held by a pause or for a rate token when it shuts down, queued for a slot past the shutdown
  deadline, handed over by a read or sweep that answered past that deadline, or not handed over
  after a failed claim or sweep): each one's count in the group's
  pending list goes back down by one, so the next delivery (a reclaim, a recovery) counts where
  this one did, and maxDeliveries counts only runs that started. An entry is given back only
  while it is still pending under this consumer at the count this consumer holds it at: one
  another worker took over meanwhile is left as it is, and a call resent after its reply was
  lost (the count is one lower by then) changes nothing. Its idle time is kept.
  A rate-limited run whose claim counted its start (includes/rate.lua) gives that start back
  too: its start record in each window becomes its admission's marker again, so whoever starts
  the run next starts it on that token, at the time it starts, instead of needing a token of its
  own while a start that never happened fills the window for perMs. Only the record of this
  very delivery at the time given, and only while the entry still holds its flow state.

  KEYS[1] stream
  KEYS[2..] the partition's flow keys (includes/flow.lua), when an entry gives a start back

  ARGV[1] consumer group
  ARGV[2] consumer (this worker)
  ARGV[3..] per entry, 4 values: stream entry id, its deliveries as this worker holds it, then
            for a rated run whose start its claim counted, its task id and that start (Redis ms,
            as the claim answered it), else '' and 0

  Returns how many entries were given back.
  Atomic: the checks, the XCLAIM and the start's return are one step, so a reclaim by another
  worker (reclaim.lua, which takes only from a dead owner) comes wholly before or after it. A
  flow key of another type refuses the call (WRONGTYPE naming it) before any write.
]]
-- @include rcall
-- @include flow

local stream, group, me = KEYS[1], ARGV[1], ARGV[2]
local F = nil
if #KEYS > 1 then
  F = flowKeysAtEnd()
  flowCheckKeys(F, {'tasks', 'starts'})
end

-- The start records of delivery `deliveries` of entry `entryId` (task `taskId`), counted at
-- `startedAt`, become its markers again: as rateClaim reads the task's flow state.
local function unstart(entryId, deliveries, taskId, startedAt)
  local held = rcall('HGET', F.tasks, taskId)
  if not held or string.sub(held, 1, #entryId + 1) ~= entryId .. '\0'
      or not string.find(held, '\0', #entryId + 2, true) then
    return
  end
  local name, flowGroup = splitPair(string.sub(held, #entryId + 2))
  for _, key in ipairs({'t\0' .. name, 'g\0' .. name .. '\0' .. flowGroup}) do
    local record = key .. '\0' .. stamp(startedAt) .. '\0' .. entryId .. '\0' .. deliveries
    if rcall('ZREM', F.starts, record) == 1 then rcall('ZADD', F.starts, '0', rateMarker(key, entryId)) end
  end
end

local given = 0
for i = 3, #ARGV - 3, 4 do
  local entryId, deliveries = ARGV[i], tonumber(ARGV[i + 1])
  local taskId, startedAt = ARGV[i + 2], tonumber(ARGV[i + 3])
  local row = rcall('XPENDING', stream, group, entryId, entryId, '1', me)[1]
  if row and deliveries and row[4] == deliveries and deliveries >= 1
      and rcall('XRANGE', stream, entryId, entryId)[1] then
    -- RETRYCOUNT sets the count (JUSTID alone would leave it); IDLE keeps the entry's idle time.
    rcall('XCLAIM', stream, group, me, '0', entryId, 'IDLE', row[3], 'RETRYCOUNT', deliveries - 1, 'JUSTID')
    if F and taskId ~= '' and startedAt and startedAt > 0 then unstart(entryId, row[4], taskId, startedAt) end
    given = given + 1
  end
end
return given

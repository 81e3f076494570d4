--[[
  Settle a batch of successful runs (the tail check). Per run: a delivery this worker no longer
  owns is refused and writes nothing; a stale generation is acked and writes nothing; otherwise
  the message is acked and deleted, the result stored with its TTL, and the key released.
  One PUBLISH tells result() waiters which tasks finished.

  KEYS[1] stream
  KEYS[2..] per run: result key, then the key state hash when the run has a key
  KEYS[last] delayed set (where periodic successors go)

  ARGV[1] consumer group
  ARGV[2] consumer (this worker)
  ARGV[3] completion channel
  ARGV[4] key state TTL in ms
  ARGV[5] lowest stream entry id of the batch
  ARGV[6] highest stream entry id of the batch
  ARGV[7..] per run, 7 values: stream entry id, task id, generation (0 = never stale),
            has key (1/0), result TTL in ms (0 = not stored), encoded result, and for a
            periodic run its successor as JSON (see includes/successor.lua), else ''

  Returns one code per run: 1 completed, 0 superseded (stale), -1 refused (owned by another
  consumer), -2 already settled (no longer pending: a resent command).
  Atomic: the ownership and generation checks and every write are one step.
]]
local rcall = redis.call
-- @include now-ms
-- @include owned-by
-- @include key-state
-- @include message
-- @include successor

local stream = KEYS[1]
local group, consumer, channel, stateTtl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local out, acked, done = {}, {}, {}
local k = 2

-- The fence for the whole batch in one call: what this consumer holds in the batch's id range
-- (it holds few entries outside the batch: its slots bound them).
local owned = {}
for _, row in ipairs(rcall('XPENDING', stream, group, ARGV[5], ARGV[6], 1000000, consumer)) do
  owned[row[1]] = true
end

for i = 0, (#ARGV - 6) / 7 - 1 do
  local base = 7 + i * 7
  local entryId, taskId, gen = ARGV[base], ARGV[base + 1], tonumber(ARGV[base + 2])
  local resultTtl, result = tonumber(ARGV[base + 4]), ARGV[base + 5]
  local resultKey = KEYS[k]
  local keyState = nil
  if ARGV[base + 3] == '1' then keyState = KEYS[k + 1]; k = k + 2 else k = k + 1 end

  if not owned[entryId] then
    out[i + 1] = pendingOwner(stream, group, entryId) and -1 or -2
  else
    acked[#acked + 1] = entryId
    if keyState and isStale(keyState, gen) then
      out[i + 1] = 0
    else
      if resultTtl > 0 then rcall('SET', resultKey, result, 'PX', resultTtl) end
      if keyState then
        rcall('HSET', keyState, 'state', 'completed', 'finishedAt', nowMs())
        if ARGV[base + 6] ~= '' then scheduleSuccessor(keyState, KEYS[#KEYS], ARGV[base + 6], nowMs()) end
      end
      done[#done + 1] = taskId
      out[i + 1] = 1
    end
    if keyState then releaseKey(keyState, entryId, stateTtl) end
  end
end

if #acked > 0 then
  rcall('XACK', stream, group, unpack(acked))
  rcall('XDEL', stream, unpack(acked))
end
if #done > 0 then rcall('PUBLISH', channel, table.concat(done, ',')) end
return out

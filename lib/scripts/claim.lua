--[[
  Claim delivered keyed messages before their handlers run (the head check). Per message:
  a stale generation is acked and deleted without running; a key whose earlier generation is
  still pending elsewhere is deferred (moved to the delayed set) so two runs of one key never
  overlap; otherwise the key is marked running under this delivery.

  KEYS[1] stream
  KEYS[2] delayed set
  KEYS[3..] key state hash of each message, in ARGV order

  ARGV[1] consumer group
  ARGV[2] consumer (this worker)
  ARGV[3] defer delay in ms
  ARGV[4..] per message, 2 values: stream entry id, generation

  Returns one code per message: 1 run, 0 stale (skipped), 2 deferred, -1 not ours (skipped).
  Atomic: the check and the mark happen in one step, so two workers never both run a key.
]]
local rcall = redis.call
-- @include now-ms
-- @include owned-by
-- @include key-state
-- @include message

local stream, delayed = KEYS[1], KEYS[2]
local group, consumer, deferMs = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out = {}

for i = 1, #KEYS - 2 do
  local keyState = KEYS[i + 2]
  local entryId, gen = ARGV[2 + i * 2], tonumber(ARGV[3 + i * 2])
  if not ownedBy(stream, group, entryId, consumer) then
    out[i] = -1
  elseif isStale(keyState, gen) then
    rcall('XACK', stream, group, entryId)
    rcall('XDEL', stream, entryId)
    out[i] = 0
  else
    local running = rcall('HGET', keyState, 'rmid')
    if running and running ~= entryId and pendingOwner(stream, group, running) then
      local entry = rcall('XRANGE', stream, entryId, entryId)[1]
      rcall('XACK', stream, group, entryId)
      rcall('XDEL', stream, entryId)
      if entry then
        local member = encodeDelayed(entry[2])
        rcall('ZADD', delayed, nowMs() + deferMs, member)
        rcall('HSET', keyState, 'state', 'queued', 'dm', member)
        rcall('HDEL', keyState, 'mid')
      end
      out[i] = 2
    else
      rcall('HSET', keyState, 'state', 'running', 'rmid', entryId, 'rown', consumer, 'startedAt', nowMs())
      rcall('HDEL', keyState, 'mid')
      out[i] = 1
    end
  end
end
return out

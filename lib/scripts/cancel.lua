--[[
  Cancel the live run of a key: bump its generation (so a message already read does not run and
  a running one settles as stale), remove what is queued or delayed, mark it cancelled.

  KEYS[1] stream
  KEYS[2] delayed set
  KEYS[3] key state hash

  ARGV[1] key state TTL in ms
  ARGV[2] control channel, told 'cancelled:<new generation>:<key>' when a running run is cancelled
  ARGV[3] key

  Returns 1 cancelled, 0 nothing live to cancel.
  Atomic: the generation bump and the removal are one step.
]]
local rcall = redis.call
-- @include now-ms

local stream, delayed, keyState = KEYS[1], KEYS[2], KEYS[3]
local state = rcall('HGET', keyState, 'state')
if state ~= 'queued' and state ~= 'delayed' and state ~= 'running' then return 0 end

local dm, mid = unpack(rcall('HMGET', keyState, 'dm', 'mid'))
if dm then rcall('ZREM', delayed, dm) end
if mid then rcall('XDEL', stream, mid) end
local gen = rcall('HINCRBY', keyState, 'gen', 1)
rcall('HDEL', keyState, 'dm', 'mid')
rcall('HSET', keyState, 'state', 'cancelled', 'finishedAt', nowMs())
if rcall('HEXISTS', keyState, 'rmid') == 1 then
  rcall('PUBLISH', ARGV[2], 'cancelled:' .. gen .. ':' .. ARGV[3])
else
  rcall('PEXPIRE', keyState, ARGV[1])
end
return 1

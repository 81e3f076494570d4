--[[
  Move due delayed tasks (retries, delayed enqueues, deferred runs) into the stream. Safe when
  every worker runs it: a member is removed and appended in one step, so it moves once.
  A superseded keyed member is dropped instead of appended (skipping stale generations).

  KEYS[1] delayed set
  KEYS[2] stream
  KEYS[3] dead-letter stream (for a member that does not decode)

  ARGV[1] most members to move
  ARGV[2] key state prefix: the state hash of key K is ARGV[2] .. K, derived here because
          the keys are only known once members are read; it shares the queue's hash tag
  ARGV[3] dead-letter stream max length (approximate)

  Returns {members moved into the stream, ms until the next member is due (-1: none)}, so
  callers can wake exactly when the next delayed task falls due.
]]
-- @include rcall
-- @include now-ms
-- @include key-state
-- @include message

local delayed, stream, dlq = KEYS[1], KEYS[2], KEYS[3]
local now = nowMs()
local due = rcall('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local moved = 0
for _, member in ipairs(due) do
  rcall('ZREM', delayed, member)
  local ok, m = pcall(cjson.decode, member)
  if not ok or not isTaskMember(m) then
    rcall('XADD', dlq, 'MAXLEN', '~', ARGV[3], '*', 'raw', member, 'reason', 'delayed member does not decode')
  else
    local keyState = m.k and (ARGV[2] .. m.k) or nil
    if not (keyState and isStale(keyState, tonumber(m.g) or 0, m.id)) then
      local mid = rcall('XADD', stream, '*', unpack(toFields(m)))
      if keyState then
        rcall('HSET', keyState, 'state', 'queued', 'mid', mid)
        rcall('HDEL', keyState, 'dm')
      end
      moved = moved + 1
    end
  end
end
local next = rcall('ZRANGE', delayed, 0, 0, 'WITHSCORES')[2]
return {moved, next and math.max(0, tonumber(next) - now) or -1}

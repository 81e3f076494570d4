-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments.
-- Helpers over a task key's state hash: fields gen (generation counter), state, id, name,
-- attempt, mid (queued stream entry), dm (delayed member), rmid/rown (the running delivery).

-- isStale(keyState, gen): a message of generation `gen` lost to a newer replace/cancel/enqueue.
-- Generation 0 (no key, or an older producer) is never stale. A missing state is stale: a
-- state hash never expires while anything of its key is queued, delayed or running.
local function isStale(keyState, gen)
  if gen == 0 then return false end
  local current = rcall('HGET', keyState, 'gen')
  return (not current) or tonumber(current) ~= gen
end

-- releaseKey(keyState, entryId, ttlMs): drop the running record when it is this delivery's,
-- then let a settled key expire (at once when ttlMs is 0); a key still running elsewhere, or
-- with a successor scheduled, keeps no TTL.
local function releaseKey(keyState, entryId, ttlMs)
  if rcall('HGET', keyState, 'rmid') == entryId then
    rcall('HDEL', keyState, 'rmid', 'rown')
  end
  local state = rcall('HGET', keyState, 'state')
  if (state == 'completed' or state == 'failed' or state == 'cancelled')
      and rcall('HEXISTS', keyState, 'rmid') == 0 then
    if ttlMs > 0 then rcall('PEXPIRE', keyState, ttlMs) else rcall('DEL', keyState) end
  end
end

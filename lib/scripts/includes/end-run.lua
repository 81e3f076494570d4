-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments.
-- @include rcall
-- @include now-ms
-- @include key-state
-- @include successor
-- endKeyedRun(keyState, delayed, seq, entryId, taskId, state, err, ttlMs, successor): the one
-- transition that ends a keyed run for good, whichever script ends it (complete, fail,
-- dead-letter for malformed and poison runs): the state becomes `state` ('completed' or
-- 'failed', with `err`), a periodic key gets its successor (`successor` JSON, or nil), and the
-- running record is released so the key expires after `ttlMs` unless a successor keeps it live.
-- Call it only after the generation check passed. A run of generation 0 (a message from before
-- generations, never stale) ends the state only when the state is about that run: a newer
-- generation queued behind it keeps its state live.
local function endKeyedRun(keyState, delayed, seq, entryId, taskId, state, err, ttlMs, successor)
  if rcall('HGET', keyState, 'id') ~= taskId then
    releaseKey(keyState, entryId, ttlMs)
    return
  end
  local now = nowMs()
  rcall('HSET', keyState, 'state', state, 'finishedAt', now)
  if err then rcall('HSET', keyState, 'error', err) end
  if successor and successor ~= '' then scheduleSuccessor(keyState, delayed, seq, successor, now) end
  releaseKey(keyState, entryId, ttlMs)
end

-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments.
-- @include rcall
-- @include key-state
-- @include successor
-- endKeyedRun(keyState, delayed, seq, entryId, taskId, state, err, ttlMs, successor, now): the
-- one transition that ends a keyed run for good, whichever script ends it (complete, fail,
-- dead-letter for malformed and poison runs, promote for a member that does not decode): the
-- state becomes `state` ('completed' or 'failed', with `err`) at `now`, a periodic key gets its
-- successor (`successor` JSON, or nil), and the running record is released so the key expires
-- after `ttlMs` unless a successor keeps it live. `now` is the calling script's Redis time
-- (nowMs, read once there): the ending reads no clock of its own. TIME is not frozen within a
-- script (Redis answers it live), so finishedAt may be earlier than a TIME read here by the
-- script's run so far; no client can tell, the script being one step.
-- Call it only after the generation check passed. A run of generation 0 (a message from before
-- generations, never stale) ends the state only when the state is about that run: a newer
-- generation queued behind it keeps its state live. Commands: an HGET of its id and one HSET
-- (state, finishedAt and the error together), the successor's (its HSET of sid naming this
-- run among them), then releaseKey's.
local function endKeyedRun(keyState, delayed, seq, entryId, taskId, state, err, ttlMs, successor, now)
  if rcall('HGET', keyState, 'id') ~= taskId then
    releaseKey(keyState, entryId, ttlMs)
    return
  end
  if err then
    rcall('HSET', keyState, 'state', state, 'finishedAt', now, 'error', err)
  else
    rcall('HSET', keyState, 'state', state, 'finishedAt', now)
  end
  if successor and successor ~= '' then
    scheduleSuccessor(keyState, delayed, seq, successor, now, nil, taskId .. ' ' .. state)
  end
  releaseKey(keyState, entryId, ttlMs)
end

-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments. Needs: rcall, key-state, message.
-- scheduleSuccessor(keyState, delayed, seq, successor, now): the next run of a periodic key, written
-- in the same script that settles the current run (after its tail check), so a superseded run
-- can never schedule one and the key keeps exactly one successor.
-- `successor` is JSON {id, n, p, k, at}: the new task id, name, payload, key, and for cron
-- tasks `at`, the next fire time. An `every` key (field `every` in its state) is timed from the
-- current slot (field dueAt), never from a worker's clock, skipping slots already missed.
local function scheduleSuccessor(keyState, delayed, seq, successor, now)
  local s = cjson.decode(successor)
  local every = tonumber(rcall('HGET', keyState, 'every') or '0')
  local dueAt = tonumber(rcall('HGET', keyState, 'dueAt') or now)
  local nextDue
  if every > 0 then
    nextDue = dueAt + every
    if nextDue <= now then nextDue = dueAt + every * (math.floor((now - dueAt) / every) + 1) end
  else
    nextDue = math.max(tonumber(s.at), dueAt + 1)
  end
  local gen = nextGeneration(seq, keyState)
  local member = encodeDelayed({'id', s.id, 'n', s.n, 'p', s.p, 'a', '1', 'k', s.k, 'g', tostring(gen), 'd', tostring(nextDue)})
  rcall('ZADD', delayed, nextDue, member)
  rcall('HSET', keyState, 'state', 'delayed', 'dm', member, 'id', s.id, 'attempt', '1', 'dueAt', nextDue, 'enqueuedAt', now)
  rcall('HDEL', keyState, 'mid', 'startedAt', 'finishedAt', 'error')
  rcall('PERSIST', keyState)
end

-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments.
-- @include rcall
-- @include message
-- @include key-state
-- @include successor

-- storeSchedule(keyState, kind, every, cron, tz, queue): the chain's schedule, kept with its key
-- (see successor.lua): kind 'every' (period in ms) or 'cron' (expression and zone); '' keeps
-- the stored one.
local function storeSchedule(keyState, kind, every, cron, tz, queue)
  if kind == 'every' then
    rcall('HSET', keyState, 'sk', 'every', 'every', every, 'queue', queue)
    rcall('HDEL', keyState, 'cron', 'tz', 'fires')
  elseif kind == 'cron' then
    rcall('HSET', keyState, 'sk', 'cron', 'cron', cron, 'tz', tz, 'queue', queue)
    rcall('HDEL', keyState, 'every')
  end
end

-- firstDue(keyState, kind, every, fires, now): when a chain's first run is due: one period
-- after Redis's clock for an `every`; for a cron, the first of `fires` (epoch ms,
-- comma-separated) after it, the rest kept with the key (none left: due now).
local function firstDue(keyState, kind, every, fires, now)
  if kind == 'every' then return now + tonumber(every) end
  local due, rest = pickFire(splitFires(fires), now)
  if not due then due, rest = now, '' end
  rcall('HSET', keyState, 'fires', rest)
  return due
end

-- putFirstRun(stream, delayed, keyState, seq, run, due, now, channel): supersedes what of the
-- key waits (queued or delayed; a run already read or running is fenced by the generation bump
-- in scheduleSuccessor) and puts the chain's first run `run` ({id, n, p, k}) in place at `due`:
-- into the stream at once when due now, as the promoter would move it, else in the delayed set,
-- telling the workers 'due' on `channel` when it is the earliest. Returns the new generation,
-- and true when a waiting run was superseded.
local function putFirstRun(stream, delayed, keyState, seq, run, due, now, channel)
  local dm, mid = unpack(rcall('HMGET', keyState, 'dm', 'mid'))
  if dm then rcall('ZREM', delayed, dm) end
  if mid then rcall('XDEL', stream, mid) end
  rcall('HDEL', keyState, 'dm', 'mid')
  run.due = due
  scheduleSuccessor(keyState, delayed, seq, cjson.encode(run), now)
  rcall('HSET', keyState, 'name', run.n)
  local gen = tonumber(rcall('HGET', keyState, 'gen'))
  local member = rcall('HGET', keyState, 'dm')
  if due <= now then
    rcall('ZREM', delayed, member)
    local newMid = rcall('XADD', stream, '*', unpack(toFields(cjson.decode(member))))
    rcall('HSET', keyState, 'state', 'queued', 'mid', newMid)
    rcall('HDEL', keyState, 'dm')
  elseif rcall('ZRANGE', delayed, '0', '0')[1] == member then
    rcall('PUBLISH', channel, 'due')
  end
  return gen, (dm or mid) ~= nil
end

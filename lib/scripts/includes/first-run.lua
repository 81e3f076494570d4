-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments.
-- @include rcall
-- @include message
-- @include key-state
-- @include successor
-- @include delayed
-- @include run-entry

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

-- firstDue(kind, every, fires, now): when a chain's first run is due: one period after Redis's
-- clock for an `every`; for a cron, the first of `fires` (epoch ms, comma-separated) after it
-- (none left: due now), and the rest, which the caller keeps with the key (field fires) once
-- nothing can refuse its call. Writes nothing.
local function firstDue(kind, every, fires, now)
  if kind == 'every' then return now + tonumber(every), nil end
  local due, rest = pickFire(splitFires(fires), now)
  if not due then due, rest = now, '' end
  return due, rest
end

-- Putting a chain's first run in place at `due` is done in steps, as Redis does not roll a
-- script back: readFirstRun reads what putFirstRun will write before the script's first write
-- (a delayed set or stream of another type refuses there, WRONGTYPE); the script then draws the
-- generation (drawGeneration, its first write), appends a first run due now (appendFirstRun: a
-- stream out of ids refuses there), sends its notices (a subscriber acts on them once the script
-- is over), and only then calls putFirstRun, after which nothing refuses. The
-- removal of the waiting run came first, the 'due' notice after the run's write: such a refusal
-- lost the key's waiting run, or wrote the new one of a call that was rejected.

-- readFirstRun(stream, delayed, keyState, due, now): the key's waiting run (dm, mid: it is
-- superseded) and whether to tell the workers 'due' (tellDue: the first run, delayed, comes
-- before everything else in the delayed set), reading the delayed set always (the first run is
-- written there, then moved to the stream when due now) and the stream when it is written (the
-- waiting run's XDEL, read by its XRANGE; the first run's XADD, by one XLEN without a waiting
-- entry). A mid whose entry is not the key's run any more (runEntry: a purged stream made anew
-- may hold another task at that id) is left out of the plan: that run is gone. A state that
-- ended its run (completed or failed) gives `settled`, '<task id> <state>', which putFirstRun
-- records in field sid (see scheduleSuccessor). Writes nothing.
local function readFirstRun(stream, delayed, keyState, due, now)
  local dm, mid, taskId, state = unpack(rcall('HMGET', keyState, 'dm', 'mid', 'id', 'state'))
  local tellDue = false
  if due > now then
    tellDue = isEarliestBut(delayed, due, dm)
  else
    rcall('ZCARD', delayed)
  end
  local queued = mid and runEntry(stream, mid, taskId)
  if not mid and due <= now then rcall('XLEN', stream) end
  local settled = (state == 'completed' or state == 'failed') and taskId and taskId .. ' ' .. state or nil
  return {dm = dm, mid = queued and mid or nil, tellDue = tellDue, settled = settled}
end

-- appendFirstRun(stream, run, due, gen, now): a first run due now (`due` <= `now`) goes into the
-- stream right after the draw, before the notices and every other write: a stream out of ids
-- (its last id the largest there is, which anyone with Redis access can XSETID) refuses every
-- `XADD *`, and refused after them it lost the key's waiting run (removed), left the key's state
-- naming a delayed run that was in no delayed set (the chain never ran again), and told a worker
-- running the key's run it was superseded (aborted) for a call that failed. The entry's fields
-- are those the delayed member putFirstRun writes would give (scheduleSuccessor, toFields).
-- Returns its entry id; nil (nothing written) when the run is not due now. A caller whose notice
-- goes out after it asks noticeCheck first (the XADD is no longer after the PUBLISH).
local function appendFirstRun(stream, run, due, gen, now)
  if due > now then return nil end
  run.due = due
  local s = cjson.decode(cjson.encode(run))
  return rcall('XADD', stream, '*', 'id', s.id, 'n', s.n, 'p', s.p, 'a', '1', 'k', s.k,
    'g', string.format('%d', gen), 'd', tostring(tonumber(s.due)))
end

-- putFirstRun(stream, delayed, keyState, plan, run, due, gen, now, appended): supersedes what of
-- the key waits (readFirstRun's plan; a run already read or running is fenced by the generation
-- `gen`) and puts the chain's first run `run` ({id, n, p, k}) in place at `due` with generation
-- `gen`: in the delayed set, or when due now in the stream, where appendFirstRun put it already
-- (entry `appended`), as the promoter would move it. A finished run it is written over (the
-- plan's `settled`) is recorded in field sid (scheduleSuccessor).
local function putFirstRun(stream, delayed, keyState, plan, run, due, gen, now, appended)
  if plan.dm then rcall('ZREM', delayed, plan.dm) end
  if plan.mid then rcall('XDEL', stream, plan.mid) end
  rcall('HDEL', keyState, 'dm', 'mid')
  run.due = due
  scheduleSuccessor(keyState, delayed, nil, cjson.encode(run), now, gen, plan.settled)
  rcall('HSET', keyState, 'name', run.n)
  if appended then
    rcall('ZREM', delayed, rcall('HGET', keyState, 'dm'))
    rcall('HSET', keyState, 'state', 'queued', 'mid', appended)
    rcall('HDEL', keyState, 'dm')
  end
end

-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments.
-- @include rcall
-- @include key-state
-- @include message
-- A periodic key's state holds its schedule (written by schedule-periodic.lua): sk (kind,
-- 'every' or 'cron'), every (period in ms), cron and tz (expression and zone), queue, defined
-- (the definition last applied at boot), and for a cron, fires: its next fire times (epoch ms,
-- comma-separated) not used yet, for a successor scheduled without a worker that runs this cron;
-- cu, the slot of a catch-up run (see successorDue); definedAt, the Redis time of the last boot
-- that defined the chain, and ended, the Redis time a worker of a version that no longer
-- defines it ended it (see scheduleSuccessor).

-- A catch-up that again finds no fire time at all waits this long (see successorDue).
local CATCH_UP_HOLD_MS = 60000

-- splitFires(text): the fire times of a comma-separated list, as text.
local function splitFires(text)
  local fires = {}
  for fire in string.gmatch(text or '', '[^,]+') do fires[#fires + 1] = fire end
  return fires
end

-- pickFire(fires, floor): the first fire time after `floor` (fires ascend), and the ones after
-- it joined by commas; nil when none is after `floor`. Anyone can write the stored list: a time
-- that is not a finite number (`x` is nil, `inf` and `nan` are read) is skipped, as a used one is;
-- nil failed the comparison (the settle with it) and inf made a successor never due.
local function pickFire(fires, floor)
  for i, fire in ipairs(fires) do
    local t = tonumber(fire)
    if t and t > floor and t < math.huge then return t, table.concat(fires, ',', i + 1) end
  end
  return nil, ''
end

-- finiteNumber(text): the number `text` reads as, nil unless finite (Lua reads 'inf' and 'nan').
local function finiteNumber(text)
  local n = tonumber(text)
  if n and n > -math.huge and n < math.huge then return n end
  return nil
end

-- storedPeriod(text): a stored `every` period, an integer from 10 ms to ten years (MAX_EVERY_MS,
-- what parseEvery allows); nil otherwise: `1e300` is finite and whole, and timed every successor
-- never due; past ten years a due time leaves what tostring writes exactly (1e14 ms) in time.
local function storedPeriod(text)
  local n = finiteNumber(text)
  if n and n >= 10 and n <= 315576000000 and n == math.floor(n) then return n end
  return nil
end

-- successorDue(keyState, s, now): when the next run is due, for a cron the fire times to keep,
-- and true when it is a catch-up. `due` in the successor is an explicit time (a chain's first
-- run). An `every` key is timed from the current slot (field dueAt), never from a worker's clock,
-- skipping slots already missed. A cron takes the first fire time after Redis's clock and the
-- current slot, from the settling worker's list when that worker runs the stored cron (or none
-- is stored), else from the stored list. When every fire time is past (the run overran all of
-- them), one catch-up run is due now: its successor is computed from that slot, back on the
-- cron's grid. A settle without any time (the stored ones used up, and the worker sent none: a
-- dead letter by a worker that does not run this cron) cannot put the chain back on its grid:
-- after a run of the grid it still gets its one catch-up now, but after a catch-up (field cu is
-- the current slot) the next one waits CATCH_UP_HOLD_MS, so a poison run that keeps being
-- dead-lettered so never runs back to back; a worker that runs the cron ends the hold.
local function successorDue(keyState, s, now)
  if s.due then return tonumber(s.due), nil, false end
  local kind, every, dueAt, cron, tz, stored, catchUp =
    unpack(rcall('HMGET', keyState, 'sk', 'every', 'dueAt', 'cron', 'tz', 'fires', 'cu'))
  -- No stored period (a chain from before schedules were stored): the worker's own, unless the
  -- stored schedule is a cron. Anyone can write the key state: a period that is not one (`x`,
  -- `inf`, under the 10 ms parseEvery allows: back-to-back runs) reads as none, and a slot that is
  -- not a finite number as Redis's clock; nil failed the settle and inf made a successor never due.
  every = storedPeriod(every)
  if not every and kind ~= 'cron' then every = tonumber(s.e) end
  every = every or 0
  dueAt = finiteNumber(dueAt) or now
  if every > 0 then
    -- A slot before the epoch or more than a period past Redis's clock is none a run had (a
    -- clock stepped back by a failover stays within it): `1e300` timed a successor never due and
    -- `-1e300` one at 0, so such a slot restarts the grid at Redis's clock.
    if dueAt < 0 or dueAt > now + every then dueAt = now end
    local nextDue = dueAt + every
    if nextDue <= now then nextDue = dueAt + every * (math.floor((now - dueAt) / every) + 1) end
    return nextDue, nil, false
  end
  local floor = math.max(now, dueAt)
  local mine = type(s.f) == 'table' and (not cron or (cron == s.c and tz == s.z))
  local nextDue, rest = pickFire(mine and s.f or splitFires(stored), floor)
  if nextDue then return nextDue, rest, false end
  if not mine then
    -- The stored times are used up and this worker runs another schedule (a deploy is rolling
    -- out): its own timing keeps the chain going until a worker of the stored cron settles it.
    if type(s.f) == 'table' then nextDue = pickFire(s.f, floor) end
    if not nextDue and tonumber(s.e) then nextDue = floor + tonumber(s.e) end
    if nextDue then return nextDue, '', false end
  end
  local timed = type(s.f) == 'table' or tonumber(s.e) ~= nil
  if not timed and tonumber(catchUp) == dueAt then return now + CATCH_UP_HOLD_MS, '', true end
  return now, '', true
end

-- scheduleSuccessor(keyState, delayed, seq, successor, now): the next run of a periodic key, written
-- in the same script that settles the current run (after its tail check), so a superseded run
-- can never schedule one and the key keeps exactly one successor.
-- `successor` is JSON {id, n, p, k, e, c, z, f, due, w}: the new task id, name, payload and key;
-- for an `every` the settling worker's period (e); for a cron its expression (c), zone (z) and
-- upcoming fire times, ascending (f, epoch ms as text: after the run's slot, then after the
-- worker's estimate of Redis's clock when those are all past it); `due` only for a chain's
-- first run (see successorDue); w, from a worker that does not define this `@Task` chain here,
-- its boot's Redis time. Such a worker is of the version before a deploy that made the task
-- periodic here (a rolling deploy runs both) when a boot defined the chain after it booted
-- (definedAt): the chain goes on, timed by the key state alone. Else it is of a version that
-- no longer defines the chain here, and the chain ends: no successor, and the key state is
-- marked ended (field ended, Redis time) so that it is kept without expiry (expireSettled in
-- key-state.lua): a worker of the older version still running would take a chain whose state
-- is gone for lost data and put it back (schedule-periodic.lua 'restore'). The mark is the
-- chain's, not the run's: a run enqueued or redriven under the key later keeps it (the chain
-- stays ended: without it, that run's settled state expired and old workers revived the chain).
-- A successor scheduled later (a boot's first run, a replace) clears it, as does any boot that
-- defines the chain, also one that keeps or re-times such a live run (schedule-periodic.lua).
-- `drawn`, a chain's first run only: the generation its script drew already (drawGeneration,
-- before its notices); else one is drawn here. `follows`, '<task id> <completed|failed>': the
-- settled run the new one is written over (the run this settle ended, or the finished run a
-- first run replaces), recorded in field sid as enqueue.lua does, so that its result() still
-- reads completed or failed once its stored result is gone (resultTtlMs 0, or a shorter one)
-- and the state names the new run. Nil writes none (an older sid stays).
local function scheduleSuccessor(keyState, delayed, seq, successor, now, drawn, follows)
  local s = cjson.decode(successor)
  if s.w ~= nil then
    local definedAt, bootedAt = finiteNumber(rcall('HGET', keyState, 'definedAt')), tonumber(s.w)
    if not (definedAt and bootedAt and definedAt > bootedAt) then
      rcall('HSET', keyState, 'ended', now)
      return
    end
  end
  local nextDue, fires, catchUp = successorDue(keyState, s, now)
  if fires then
    rcall('HSET', keyState, 'fires', fires)
  end
  local gen = drawn
  if gen then rcall('HSET', keyState, 'gen', gen) else gen = nextGeneration(seq, keyState) end
  local member = encodeDelayed({'id', s.id, 'n', s.n, 'p', s.p, 'a', '1', 'k', s.k, 'g', string.format('%d', gen), 'd', tostring(nextDue)})
  rcall('ZADD', delayed, nextDue, member)
  if follows then rcall('HSET', keyState, 'sid', follows) end
  rcall('HSET', keyState, 'state', 'delayed', 'dm', member, 'id', s.id, 'attempt', '1', 'dueAt', nextDue, 'enqueuedAt', now)
  rcall('HDEL', keyState, 'mid', 'startedAt', 'finishedAt', 'error', 'cu', 'ended')
  if catchUp then rcall('HSET', keyState, 'cu', nextDue) end
  rcall('PERSIST', keyState)
end

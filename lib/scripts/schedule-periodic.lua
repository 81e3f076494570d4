--[[
  KEYS: stream, delayed set, the periodic key's state, sequence. ARGV: mode, task id, name,
  payload, key, queue, the schedule and its times, the channels (details below).
  Put a periodic task's chain in place, re-time it or replace its run, in one step, so however
  many workers boot at once a changed definition re-times the chain exactly once.

  'boot' (a worker's definition): a live chain (queued, delayed or running) whose definition is
  the one applied at the last boot (field `defined`) is left alone, so a re-time made at runtime
  survives restarts. Every boot stamps its Redis time (field definedAt): a run of the chain taken
  by a worker that does not define it here goes on only if that worker booted before it (see
  successor.lua); and it clears the ended mark a deploy left (see stampBoot). A changed
  definition re-times it: the schedule is stored, a waiting run is superseded by a first run on
  the new schedule (its entry deleted only while it holds that run: readFirstRun), and a running run keeps running (its successor follows the stored
  schedule). Without a live chain, a first run is put in place.
  'restore' (a running worker's definition, after a reconnect or on its slow timer): writes
  only when the chain is gone: no key state at all (Redis restarted empty, someone deleted it),
  a waiting run whose message is gone (liveRunGone; an entry id another task took after a
  purge counts as gone, see includes/run-entry.lua), or a running run whose delivery no
  consumer holds any more (deliveryGone: the stream was purged while it ran; its handler, if
  still running, is told it is superseded). It then puts a first run in place as a
  boot would (this worker's definition applied), stamping definedAt with the worker's boot
  time (ARGV[16]) unless a later boot stamped it. Any other key state is left alone: a chain
  stopped by cancel(), ended by a deploy, or re-timed since is the fleet's decision, not lost
  data, and a restore must not undo it (a stopped or ended chain's state is kept without expiry
  for this: includes/key-state.lua expireSettled); nor does it stamp definedAt, which would
  keep a chain going on workers of a version that dropped it (see successor.lua). A boot puts
  a stopped or ended chain back, and clears the ended mark also when it keeps or re-times a
  live run (one enqueued or redriven under the key after the end).
  'replace' (QueueClient.replace on the periodic key): a new run due at once (or at the given
  time) supersedes whatever of the key is live; a schedule given is stored, else the stored one
  is kept. Its task id is added to field calls (see includes/key-state.lua).
  A first run written over a run that ended (completed or failed) records that run in field
  sid, as enqueue.lua does (includes/successor.lua), for its result() once the key names the new run.

  KEYS[1] stream
  KEYS[2] delayed set
  KEYS[3] key state hash of the periodic key
  KEYS[4] the queue's sequence (the new run's generation is drawn from it)

  ARGV[1]  mode: 'boot', 'restore' or 'replace'
  ARGV[2]  task id of a new run
  ARGV[3]  task name
  ARGV[4]  payload (JSON)
  ARGV[5]  periodic key (periodic:<name>)
  ARGV[6]  queue
  ARGV[7]  schedule kind: 'every', 'cron', or '' (replace: keep the stored schedule)
  ARGV[8]  period in ms ('every')
  ARGV[9]  cron expression and ARGV[10] its time zone ('cron')
  ARGV[11] boot, restore: the definition's signature, compared with field `defined`
  ARGV[12] cron fire times after Redis's clock, comma-separated (boot and restore, 'cron')
  ARGV[13] replace: due time in epoch ms (0: now plus ARGV[14])
  ARGV[14] replace: delay in ms
  ARGV[15] control channel: told 'due' when the new run is the earliest delayed task, and
           'superseded:<generation>:<key>' when a running run is superseded
  ARGV[16] restore: the worker's boot time (Redis time, epoch ms)
  ARGV[17] restore: the consumer group (whose pending list holds a running run's delivery)
  ARGV[18] done channel: told 's:<task id>' when the key's waiting run (queued or delayed) is
           superseded, as enqueue.lua and schedule-runtime.lua tell it: removed, it never settles
           (told nothing, a result() waiting on it answered only at its timeout's last read, and
           one without a timeout waited for good). A running run says it at its settle (stale).

  Returns {task id, generation, code}: 0 the live chain was left alone (its run is returned),
  1 a first run was put in place (boot, restore), 2 re-timed, 3 replaced. A replace whose task
  id the key state records among its last calls (field calls; rid, the last replace, from
  versions before) ran before (a resend after a lost reply), also when another replace() wrote a
  newer run since: it writes nothing and returns that run, code 3, with the generation it wrote
  (that newer run and its period stay). A recorded or stored generation that is not one (anyone
  can write them) replies as 0; at boot a live chain with one is re-timed (code 2). A key state
  that is not a hash reads as none: a fresh one replaces it (boot: code 1).
  Atomic: the comparison, the stored schedule and the new run are one step. Redis does not roll
  a script back, so a call that puts a run in place reads its keys first (a delayed set or
  stream of another type refuses with WRONGTYPE), then draws the run's generation (the
  sequence's INCR, the first write: a sequence that is no number refuses there, and so does an
  out-of-memory Redis), then appends a first run due now (a stream out of ids, its last id the
  largest there is, refuses there), then sends its notices ('s:<id>', 'superseded:<gen>:<key>',
  'due': their channels asked first, so an ACL refusing one refuses the call with only a
  generation number skipped), and only then writes (see
  includes/first-run.lua). (The schedule was stored and the waiting run removed first, the
  notices after: such a refusal lost a replace()'s waiting run or wrote the new run of a call
  that was rejected.) A key state of another type is still deleted first (it reads as none).
]]
-- @include rcall
-- @include now-ms
-- @include message
-- @include key-state
-- @include successor
-- @include first-run
-- @include chain-run
-- @include notice-check
-- @include stranded-run

local stream, delayed, keyState, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local mode, id, name, payload, key = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local queue, kind, every, cron, tz, signature = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local channel = ARGV[15]
local now = nowMs()
-- A key state that is not a hash (`SET <key state> x`) reads as none: a fresh state replaces it.
-- Its WRONGTYPE failed every worker's boot (app.init()), whatever queues it ran.
dropForeignState(keyState)

-- A replace names its new run with an id of its own; the key state keeps the ids of the last
-- runs its calls wrote (field calls, see includes/key-state.lua), since the run's own id leaves
-- the key state once its successor is scheduled. Finding it means this very call ran before
-- (ioredis resent it after a reply lost with its connection): superseding again would run the
-- task a second time, and after another replace() it put the older payload and period back
-- over the newer run. Field rid ('<id> <generation>': the last replace alone) is what versions
-- before calls wrote.
local calls = mode == 'replace' and rcall('HGET', keyState, 'calls')
if mode == 'replace' then
  local calledGen = calledBefore(calls, id)
  if calledGen then return {id, calledGen, 3} end
  local rid, rgen = string.match(rcall('HGET', keyState, 'rid') or '', '^(%S+) (%d+)$')
  if rid == id then return {id, storedGeneration(rgen) or 0, 3} end
end

local state, defined, storedEvery, rmid = unpack(rcall('HMGET', keyState, 'state', 'defined', 'every', 'rmid'))
local live = state == 'queued' or state == 'delayed' or state == 'running'
-- Anyone can write the stored generation: a live chain whose generation is not one (`x` made a
-- nil that cut the reply short, `inf` read -2^63) is stale already (isStale), its runs settle
-- nothing and schedule no successor, so boot re-times it below with a first run of its own.
local liveGen = live and storedGeneration(rcall('HGET', keyState, 'gen'))

-- A chain whose running run's delivery is gone (a purge of the stream) settles nothing: no
-- successor ever comes, and boots leave a live chain of their definition alone.
if mode == 'restore' and rcall('EXISTS', keyState) == 1 and not liveRunGone(stream, delayed, keyState, state)
    and not (state == 'running' and deliveryGone(stream, ARGV[17], keyState)) then
  return {rcall('HGET', keyState, 'id') or '', liveGen or 0, 0}
end

-- A boot defines the chain from now on: its definition, its Redis time (see successor.lua), and
-- no ended mark. A first run put in place clears the mark anyway, but a live run the boot keeps
-- or re-times may hold it: a run enqueued or redriven under the key after a deploy ended the
-- chain keeps the mark (the chain stays ended while only such runs hold the key). Settled by a
-- worker that schedules no successor, its state would then be kept as ended for ever, and the
-- chain this boot defines never restored.
local function stampBoot()
  rcall('HSET', keyState, 'defined', signature, 'definedAt', now)
  rcall('HDEL', keyState, 'ended')
end

if mode == 'boot' and liveGen then
  -- A chain from before schedules were stored: an `every` of the same period is the same chain.
  local same = defined == signature or
    (not defined and kind == 'every' and tonumber(storedEvery or '0') == tonumber(every))
  if same then
    stampBoot()
    return {rcall('HGET', keyState, 'id'), liveGen, 0}
  end
end

-- The chain's definition, stored (the key state alone: nothing refuses after it on the boot of
-- a running chain; elsewhere the first run's keys are read before it).
local function define()
  storeSchedule(keyState, kind, every, cron, tz, queue)
  if mode == 'boot' then stampBoot() end
  if mode == 'restore' then
    -- As a boot of this worker would, but dated from its boot: a later boot elsewhere stays later.
    rcall('HSET', keyState, 'defined', signature)
    local definedAt = tonumber(rcall('HGET', keyState, 'definedAt') or '')
    if not definedAt or definedAt < tonumber(ARGV[16]) then rcall('HSET', keyState, 'definedAt', ARGV[16]) end
  end
end

if mode == 'boot' and state == 'running' and liveGen then
  -- The running run settles later and schedules its successor on the stored schedule (a
  -- worker still running the old cron takes the stored fire times).
  define()
  if kind == 'cron' then rcall('HSET', keyState, 'fires', ARGV[12]) end
  return {rcall('HGET', keyState, 'id'), liveGen, 2}
end

local due, fires
if mode == 'replace' then
  due = tonumber(ARGV[13])
  if due == 0 then due = now + tonumber(ARGV[14]) end
else
  due, fires = firstDue(kind, every, ARGV[12], now)
end
-- The first run's keys are read first (one of another type refuses here), then its generation
-- is drawn (the first write), then the notices go, then the writes (includes/first-run.lua).
local plan = readFirstRun(stream, delayed, keyState, due, now)
-- The waiting run the first run supersedes: its waiters are told (see ARGV[18]).
local waitingId = (plan.dm or plan.mid) and rcall('HGET', keyState, 'id')
local gen = drawGeneration(seq, keyState)
-- A first run due now is appended before the notices (includes/first-run.lua), their channels
-- asked first so that an ACL refusing one still refuses before the entry is written.
if waitingId then noticeCheck(ARGV[18]) end
if rmid then noticeCheck(channel) end
local run = {id = id, n = name, p = payload, k = key}
local appended = appendFirstRun(stream, run, due, gen, now)
if waitingId then rcall('PUBLISH', ARGV[18], 's:' .. waitingId) end
if rmid then rcall('PUBLISH', channel, 'superseded:' .. string.format('%d', gen) .. ':' .. key) end
if plan.tellDue then rcall('PUBLISH', channel, 'due') end
define()
if fires then rcall('HSET', keyState, 'fires', fires) end
putFirstRun(stream, delayed, keyState, plan, run, due, gen, now, appended)
if mode == 'replace' then rcall('HSET', keyState, 'calls', callsWith(calls, id, gen)) end

local code = 3
if mode == 'boot' then code = live and 2 or 1 end
if mode == 'restore' then code = 1 end
return {id, gen, code}

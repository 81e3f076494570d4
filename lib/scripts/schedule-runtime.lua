--[[
  KEYS: stream, delayed set, the schedule key's state, sequence, the queue's schedule index.
  ARGV: task id, name, payload, key, queue, schedule kind, period, cron, zone, signature,
  cron fire times, control channel, done channel (details below).
  Create or re-time a runtime schedule (QueueClient.schedule): the same periodic chain as a
  decorator-defined task (its runs carry their slot, field d, and each settle schedules the
  successor from the schedule stored in the key's state), listed in the queue's schedule index.
  A first run written over a run that ended (completed or failed) records that run in field
  sid, as enqueue.lua does (includes/successor.lua), for its result() once the key names the new run.

  KEYS[1] stream
  KEYS[2] delayed set
  KEYS[3] key state hash of the schedule's key
  KEYS[4] the queue's sequence (the first run's generation is drawn from it)
  KEYS[5] the queue's schedule index: a sorted set of schedule keys, all of score 0 (paged by lex)
  KEYS[6] the partition's layout record (see layout.lua)

  ARGV[1]  task id of a first run
  ARGV[2]  task name
  ARGV[3]  payload (JSON)
  ARGV[4]  key
  ARGV[5]  queue
  ARGV[6]  schedule kind: 'every' or 'cron'
  ARGV[7]  period in ms ('every')
  ARGV[8]  cron expression and ARGV[9] its time zone ('cron')
  ARGV[10] signature: name, payload and schedule as JSON (field sig); the same signature on a
           live schedule leaves it alone
  ARGV[11] cron fire times after Redis's clock, comma-separated ('cron')
  ARGV[12] control channel: told 'due' when the first run is the earliest delayed task, and
           'superseded:<generation>:<key>' when a running run is superseded
  ARGV[13] done channel: told 's:<task id>' when a waiting run is superseded
  ARGV[14] the caller's partition count: the key was mapped to this partition by it, so a layout
           record that says otherwise refuses the call (error 'LAYOUT ...'), before any write
  ARGV[15] the consumer group (whose pending list holds a running run's delivery)

  Returns {task id, generation, code, name}: 0 the same schedule is live, left alone (its run);
  1 created; 2 re-timed (the waiting run is replaced by a first run on the new schedule, its
  entry deleted only while it holds that run: another task may hold its id after a purge, see
  includes/first-run.lua readFirstRun; a
  running one is superseded: its settle writes nothing and schedules nothing; so is the same
  schedule whose stored generation is not one); -1 the key is held by a live run that is not a
  schedule's periodic run (a run enqueued under the key, or the one-off run of a replace() that
  ended its chain; its id, generation, 0 when the stored one is not one, and task name):
  nothing written. A key state that is not a hash reads as none: a fresh one replaces it (1).
  A running run whose delivery no consumer holds any more (deliveryGone: the stream was purged
  while it ran) is not live: it settles nothing, and the key is scheduled as a free one (1), its
  handler, if still running, told it is superseded. Nor is a waiting run whose message is gone
  (liveRunGone: its delayed member or stream entry deleted, or dead-lettered by promote.lua): the
  key is scheduled as a free one (1), its waiters told 's:<id>'; one HMGET and a ZSCORE (or an
  XRANGE) more for a waiting run.
  A call whose first-run id (ARGV[1]) the key state already names was run before (a resend
  after a lost reply): it writes nothing and returns that run, code 1, whatever became of it
  since (an unschedule() or cancel() in between stays in force); so does one whose id field
  calls names (see includes/key-state.lua), once another call wrote a newer run under the key
  (a re-timing schedule(), a replace(): its run and timing stay).
  Atomic: the comparison, the stored schedule, the first run and the index entry are one step,
  so concurrent calls for one key leave exactly one chain. Redis does not roll a script back, so
  the call's refusals come before its first write: the keys it writes are read first (a schedule
  index, delayed set or stream of another type refuses with WRONGTYPE), then the first run's
  generation is drawn (the sequence's INCR, the first write: a sequence that is no number
  refuses there, and so does an out-of-memory Redis), then a first run due now is appended (a
  stream out of ids, its last id the largest there is, refuses there; the notices' channels
  asked first: noticeCheck), then the notices go ('s:<id>',
  'superseded:<gen>:<key>', 'due': a channel an ACL refuses fails the call with only a
  generation number skipped), and only then the writes (see includes/first-run.lua). (The
  schedule was stored and the waiting run removed first, the notices and the index entry last:
  such a refusal stored a re-timing its run did not follow, lost the waiting run, or left a new
  chain running out of the index, while the caller was told only of an error.) A key state of
  another type is still deleted first (it reads as none).
]]
-- @include rcall
-- @include now-ms
-- @include message
-- @include key-state
-- @include successor
-- @include first-run
-- @include chain-run
-- @include stranded-run
-- @include layout-guard
-- @include notice-check

local stream, delayed, keyState, seq, index = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, name, payload, key, queue = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local kind, every, cron, tz, signature = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local refused = layoutRefusal(KEYS[6], ARGV[14])
if refused then return refused end
-- A key state that is not a hash (`SET <key state> x`) reads as none: a fresh state replaces it.
dropForeignState(keyState)
local now = nowMs()

local state, runtime, sig, oldId, oldGen, oldName, rmid, calls =
  unpack(rcall('HMGET', keyState, 'state', 'rt', 'sig', 'id', 'gen', 'name', 'rmid', 'calls'))
-- Every call draws a new first-run id, so a key state naming it means this very call ran
-- before: ioredis resent it after a reply lost with its connection. Going on would put back a
-- schedule ended since, or supersede the first run it made.
if oldId == id then return {id, storedGeneration(oldGen) or 0, 1, name} end
-- Ran before, and another call wrote a newer run under the key since (a re-timing schedule(), a
-- replace()): its answer stands, and the newer run and timing are left alone (calledBefore).
local calledGen = calledBefore(calls, id)
if calledGen then return {id, calledGen, 1, name} end
local live = state == 'queued' or state == 'delayed' or state == 'running'
-- Its run was running when the stream was purged: it settles nothing, and the key said 'running'
-- for good (held by a run that was no chain run any more, its entry gone: KeyConflictError).
local purged = state == 'running' and deliveryGone(stream, ARGV[15], keyState)
if purged then live = false end
-- Its waiting run's message is gone (liveRunGone: an operator's ZREM of its delayed member or
-- XDEL of its entry, or a promotion that dead-lettered the member as malformed, which leaves a
-- schedule's state as it is): nothing of the chain runs any more. Read as live, the same
-- schedule() was left alone (code 0) and the chain never ran again.
if live and liveRunGone(stream, delayed, keyState, state) then live = false end
-- The live run is the schedule's chain only when it is a periodic run of a runtime schedule: a
-- one-off run (a replace() ended the chain) holds the key like any other run.
-- Anyone can write the generation: one that is not (`x` made a nil that cut the reply short,
-- `inf` read -2^63) is replied as 0 by a held key, and a live chain with it is re-timed as a
-- changed one is (its runs are stale already): its new first run draws one.
if live and (runtime ~= '1' or not isChainRun(stream, keyState, state)) then
  return {oldId or '', storedGeneration(oldGen or '0') or 0, -1, oldName or ''}
end
local liveGen = storedGeneration(oldGen)
if live and sig == signature and liveGen then return {oldId, liveGen, 0, name} end

-- What the call writes is read first (the index, the delayed set, the stream: one of another
-- type refuses here), then the generation is drawn (the first write), then the notices go, then
-- the writes: see the header.
rcall('ZSCORE', index, key)
local due, fires = firstDue(kind, every, ARGV[11], now)
local plan = readFirstRun(stream, delayed, keyState, due, now)
local gen = drawGeneration(seq, keyState)
-- A first run due now is appended before the notices (includes/first-run.lua), their channels
-- asked first so that an ACL refusing one still refuses before the entry is written.
local tellsDone, tellsSuperseded = (plan.dm or plan.mid) and oldId, (live or purged) and rmid
if tellsDone then noticeCheck(ARGV[13]) end
if tellsSuperseded then noticeCheck(ARGV[12]) end
local run = {id = id, n = name, p = payload, k = key}
local appended = appendFirstRun(stream, run, due, gen, now)
if tellsDone then rcall('PUBLISH', ARGV[13], 's:' .. oldId) end
if tellsSuperseded then rcall('PUBLISH', ARGV[12], 'superseded:' .. string.format('%d', gen) .. ':' .. key) end
if plan.tellDue then rcall('PUBLISH', ARGV[12], 'due') end
rcall('HSET', keyState, 'rt', '1', 'sig', signature)
storeSchedule(keyState, kind, every, cron, tz, queue)
if fires then rcall('HSET', keyState, 'fires', fires) end
putFirstRun(stream, delayed, keyState, plan, run, due, gen, now, appended)
rcall('HSET', keyState, 'calls', callsWith(calls, id, gen))
rcall('ZADD', index, '0', key)
return {id, gen, live and 2 or 1, name}

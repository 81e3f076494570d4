--[[
  KEYS: stream, delayed set, key state, sequence, schedule index, layout record, the stranded
  cancels, call record (optional), a judged owner's liveness key (last, with ARGV[9]). ARGV: key
  state TTL, control channel, key, done channel, 'schedule only', partition count, task name
  (optional), consumer group, judged owner (optional).
  Cancel the live run of a key: draw a new generation (so a message already read does not run
  and a running one settles as stale), remove what is queued or delayed, mark it cancelled.
  A runtime schedule's key also leaves the schedule index and drops its stored schedule, so its
  chain ends for good.

  KEYS[1] stream
  KEYS[2] delayed set
  KEYS[3] key state hash
  KEYS[4] the queue's sequence (the new generation is drawn from it)
  KEYS[5] the queue's schedule index (optional; QueueClient always sends it)
  KEYS[6] the partition's layout record (optional; QueueClient always sends it): the key was
          mapped to this partition under ARGV[6] partitions; a record that says otherwise refuses
          the call (error 'LAYOUT ...'), since the key's live run may be in another partition
  KEYS[7] the partition's stranded cancels, a set of keys (see below)
  KEYS[8] the call's record (optional; QueueClient sends it for cancel() and unschedule()),
          named after an id the caller draws per call: ioredis resends a call whose reply was
          lost with its connection, with the same arguments. The first execution records its
          answer there (for ARGV[1] ms; none when that is 0), and a resend finds it and answers
          the same, changing nothing: without it, a resend found nothing live (the first had
          cancelled it) and answered 0, and it cancelled a run enqueued between the two
  KEYS[last] the liveness key of the owner named by ARGV[9] (only with it): its value is
          compared with the one the run was claimed under

  ARGV[1] key state TTL in ms
  ARGV[2] control channel, told 'cancelled:<new generation>:<key>' when a running run is cancelled
  ARGV[3] key
  ARGV[4] done channel, told 'x:<task id>' when a queued or delayed run is cancelled, also one
          waiting behind an older generation still running (a running one says it when it settles)
  ARGV[5] '1': act only on a runtime schedule (unschedule): a key not in the index, or held by
          a one-off run since a replace() ended its chain, is left alone (a stale index entry
          is removed)
  ARGV[6] the caller's partition count for this queue (with KEYS[6])
  ARGV[7] a task name (optional, with ARGV[5] '1'): act only on a schedule of this task (a
          schedule() on another queue retiring the key's chain left here); another task's
          schedule under the key, index entry included, is left alone (0)
  ARGV[8] consumer group: where the running run's delivery is looked up
  ARGV[9] the owner this call judges ('' or absent: none): the one a first call answered with
          code 2; its liveness key is KEYS[last]

  A `@Task` chain's key state (with a stored schedule, sk) is kept without expiry once
  cancelled (see includes/key-state.lua expireSettled).
  A queued run's entry (field mid) is deleted only while it holds the run's task (one XRANGE,
  includes/run-entry.lua): a stream made anew after a purge (a DEL of the stream) numbers its
  entries from Redis's clock alone, so another task enqueued in the purged entry's millisecond
  (or after the clock went back) takes its id, and was deleted in its place, never to run. A
  run whose entry holds another task is gone, as a missing one is: the key is cancelled.
  A running run's state keeps its running record (rmid, rown) and no TTL: its worker's settle,
  stale by then, releases the key (releaseKey) and tells its waiters 'x:<id>'. A running run that
  only its owner can still end (strandedRunOwner: its delivery went with a DEL of the stream, or
  its entry was deleted), once the lease it was claimed under lapsed (runLeaseHeld: its owner's
  liveness key expired, or holds another value since), gets no settle: no reclaim finds it. It
  is ended here as a waiting run is: its waiters told 'x:<id>', or 's:<id>' for an older run a
  replace() superseded (by its task id, field rtid when it names that delivery: runningTask in
  includes/key-state.lua; as a result() asked later reads it: that id in no other field, they
  heard nothing before), its worker told too (should it
  be alive after all: its late settle finds no running record and writes nothing), its running
  record dropped and its state left to expire. It used to keep no TTL for good (until the key
  was enqueued again), its waiters never told. As enqueue.lua judges such a run, a call that
  judges no owner answers code 2 with the owner, writing nothing, and the caller sends the same
  call again judging it (ARGV[9], KEYS[last]). While that lease holds, the run is cancelled as a
  running one is (its worker's settle releases the key, recordsRunHere in complete.lua and
  fail.lua), and no TTL can be set now (the state could expire under the live handler, and a
  new run of the key start beside it); the key goes into the partition's stranded cancels
  (KEYS[7]), whose owners the workers' sweeps judge (end-stranded-cancel.lua): a worker that
  dies after such a cancel, before its settle, gets its run ended there once its lease lapsed.
  Every other running run the cancel leaves to a settle is recorded too, also one whose delivery
  still stands (remove-task.lua records the older run it leaves the same way): its entry may be
  deleted after the cancel (an XDEL while its worker is dead, the sweep then dropping the
  delivery), and no settle or reclaim ends it then either (the sweep keeps such a key while the
  delivery stands: a reclaim's claim, stale by then, releases the key).
  (It used to leave the state cancelled without a TTL until the key's next enqueue, its waiters
  told only at their timeouts: nothing runs when the owner dies, and no reclaim finds a delivery
  in no pending list.) A settle that releases the key leaves the key in the set, for the next
  sweep to drop (it finds no running record): the settle scripts stay as they are.

  Returns 1 cancelled (or a schedule whose chain had already ended was removed from the index),
  0 nothing live to cancel, {2, owner} the owner must be judged (nothing written, nothing
  recorded; above); the recorded answer, before any check, when KEYS[8] holds one (a
  resend); a LAYOUT error reply (nothing changed, nothing recorded) when the layout differs. A
  key state that is not a hash reads as none (nothing live) and is left as it is.
  Atomic: the generation draw, the removal, the index entry, the stranded cancels' entry and the
  call's record are one step.
  Redis does not roll a script back, so the call's refusals come before its first write: the keys
  it writes are read first (a schedule index, delayed set, stream or stranded cancels of another
  type refuses with WRONGTYPE), then a live run's generation is drawn (the sequence's INCR, the first write: a
  sequence that is no number refuses there, and so does an out-of-memory Redis), then the notices
  go ('x:<id>', 'cancelled:<gen>:<key>': a channel an ACL refuses fails the call with only a
  generation number skipped), and only then the writes. A subscriber acts on a notice once the
  script is over, by when the cancel it announces is written. (The index entry, the stored
  schedule and the run's message went first, the notices last: such a refusal ended a schedule
  or lost the run, or cancelled it with its waiters and its worker never told and the call's
  answer not recorded, while the caller was told only of an error.)
]]
-- @include rcall
-- @include now-ms
-- @include key-state
-- @include layout-guard
-- @include run-entry
-- @include stranded-run

local stream, delayed, keyState, seq, index = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local strandedCancels = KEYS[7]
local judged = ARGV[9] or ''
local judgedAlive = judged ~= '' and KEYS[#KEYS] or nil
local record = #KEYS >= (judgedAlive and 9 or 8) and KEYS[8] or nil
local ttl = ARGV[1]
-- A resend of a call that ran: its answer stands, even after a change of the layout (the
-- partition it acted on was the key's then), and a run enqueued since is not this call's.
if record then
  local answered = rcall('GET', record)
  if answered == '0' or answered == '1' then return tonumber(answered) end
end
-- answer(code): the call's answer, recorded for a resend. A "nothing live" is recorded too:
-- a resend must not cancel what was enqueued after the first execution found nothing.
local function answer(code)
  if record and tonumber(ttl) > 0 then rcall('SET', record, tostring(code), 'PX', ttl) end
  return code
end
local refused = KEYS[6] and layoutRefusal(KEYS[6], ARGV[6])
if refused then return refused end
if ARGV[7] and ARGV[7] ~= '' and (notAHash(keyState) or rcall('HGET', keyState, 'name') ~= ARGV[7]) then
  return answer(0)
end
-- The index entry is read here and removed with the writes: one of another type refuses the
-- call before it wrote anything.
local indexed = index and rcall('ZSCORE', index, ARGV[3]) ~= false
local function leaveIndex() if indexed then rcall('ZREM', index, ARGV[3]) end end
-- A key state that is not a hash (`SET <key state> x`) reads as none, nothing live, and is left
-- as it is: only a schedule's index entry goes, as for a key whose state expired.
if notAHash(keyState) then
  leaveIndex()
  return answer(indexed and 1 or 0)
end
local state, runtime, dm, mid, taskId, rmid, rtid =
  unpack(rcall('HMGET', keyState, 'state', 'rt', 'dm', 'mid', 'id', 'rmid', 'rtid'))
local live = state == 'queued' or state == 'delayed' or state == 'running'
-- An index entry whose key is held by a live run without the marker: a replace() ended that
-- chain, and the run is a one-off that unschedule() leaves alone.
local scheduled = indexed and (runtime == '1' or not live)
-- Without its markers and stored schedule, no later run of the key is taken for the chain.
local function endSchedule()
  leaveIndex()
  if scheduled then dropRuntimeSchedule(keyState) end
end
if ARGV[5] == '1' and not scheduled then
  leaveIndex()
  return answer(0)
end
if not live then
  endSchedule()
  return answer(scheduled and 1 or 0)
end

-- A run recorded running (maybe an older generation behind the current one, after a replace)
-- that only its owner can still end is gone once that owner's lease lapsed (see the header):
-- judged before any write. Any other (its delivery standing, its owner's lease held, or its owner
-- changed since the first call) is left to its settle, and recorded for the sweeps to judge.
local gone = false
if rmid then
  local owner = strandedRunOwner(stream, ARGV[8], keyState)
  if owner and judged == '' then return {2, owner} end
  gone = owner ~= nil and owner == judged and judgedAlive ~= nil and not runLeaseHeld(keyState, judgedAlive)
end
local running = rmid ~= false and not gone
-- A set of another type refuses here, before any write.
if running then rcall('SCARD', strandedCancels) end
-- The keys the writes touch, read first: a delayed set or stream of another type refuses here.
-- The queued run's entry is deleted only if it is still this run's (runEntry): a purged stream
-- made anew may hold another task at that id. One that is not is gone, as a missing one is.
if dm then rcall('ZSCORE', delayed, dm) end
local queued = mid and runEntry(stream, mid, taskId)
-- The first write: the generation's draw (the sequence alone; see drawGeneration). Then the
-- notices, before the writes they announce: nothing after them refuses.
local gen = drawGeneration(seq, keyState)
-- The current run was waiting (queued or delayed, maybe behind an older generation still
-- running, after a replace): it is told now, and so is a running one that is gone (no settle
-- will come). A current run that is running says it when it settles (an older one running
-- tells only its own waiters). Its worker hears the cancel, also one presumed dead.
if taskId and (dm or mid or not running) then rcall('PUBLISH', ARGV[4], 'x:' .. taskId) end
-- A gone running run that a replace() superseded (its task id, rtid, not the state's) reads
-- superseded once the cancel names the current task in xid: its waiters are told so.
local runningId = gone and runningTask(rtid, rmid)
if runningId and runningId ~= taskId then
  rcall('PUBLISH', ARGV[4], 's:' .. runningId)
end
if rmid then rcall('PUBLISH', ARGV[2], 'cancelled:' .. string.format('%d', gen) .. ':' .. ARGV[3]) end
endSchedule()
if dm then rcall('ZREM', delayed, dm) end
if queued then rcall('XDEL', stream, mid) end
rcall('HDEL', keyState, 'dm', 'mid')
if gone then rcall('HDEL', keyState, 'rmid', 'rown', 'fence', 'rliv', 'rtid') end
if running then rcall('SADD', strandedCancels, ARGV[3]) end
-- xid: the task cancelled, so its result() says cancelled also once the key names a newer run.
rcall('HSET', keyState, 'gen', gen, 'state', 'cancelled', 'finishedAt', nowMs(), 'xid', taskId or '')
-- A stopped `@Task` chain keeps its state (see expireSettled); a running run's stale settle
-- decides it for its own key state (releaseKey), a gone one's record was dropped above.
if not running then expireSettled(keyState, tonumber(ttl)) end
return answer(1)

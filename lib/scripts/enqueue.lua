--[[
  KEYS: stream, delayed set, [key state, sequence, layout, schedule index, a judged owner's
  liveness key]. ARGV:
  task id, name, payload, delay, due time, mode, key, control channel, [period, periodic flag,
  done channel, partition count], [trace context], [group, judged owner] (details below).
  Enqueue one task: append it to the stream, or to the delayed set when it is due later.
  For a keyed task, in the same step: deduplicate against a live run of the key (unless
  replacing), draw a new generation from the queue's sequence, and supersede whatever of the key
  is still queued or delayed, so an older generation never starts. A run that is not periodic
  written under a runtime schedule's key ends that schedule (its markers and stored schedule go,
  and the key leaves the schedule index).

  KEYS[1] stream
  KEYS[2] delayed set
  KEYS[3] key state hash (keyed tasks only)
  KEYS[4] the queue's sequence (keyed tasks only): generations are drawn from it
  KEYS[5] the partition's layout record (keyed tasks; see layout.lua): without it, no check
  KEYS[6] the partition's schedule index (keyed tasks; see schedule-runtime.lua): a runtime
          schedule this run ends leaves it. Nothing else removed it once the key's state expired,
          so each schedule a replace() ended stayed there for good. Looked up before the first
          write: one of another type refuses such a call (WRONGTYPE) with nothing written
  KEYS[7] the liveness key of the owner named by ARGV[15] (a call that judges one, see below):
          its value is compared with the one the run was claimed under

  ARGV[1]  task id (used unless an existing run is returned)
  ARGV[2]  task name
  ARGV[3]  payload (JSON)
  ARGV[4]  delay in ms from Redis's clock (0 = now)
  ARGV[5]  due time in epoch ms (0 = use the delay): runAt
  ARGV[6]  mode: 'add' (returns a live run of the key) or 'replace' (supersedes it)
  ARGV[7]  key ('' for a task without one)
  ARGV[8]  control channel: told 'superseded:<new generation>:<key>' when a running generation
           is superseded, and 'due' when a delayed task becomes the earliest due
  ARGV[9]  period in ms of an `every` task (0 = keep the period the key state holds, if any)
  ARGV[10] '1' for a periodic run: its message carries its due time (field d)
  ARGV[11] done channel: told 's:<task id>' when a queued or delayed run is superseded (it will
           never run, and its result() waiters must hear so)
  ARGV[12] the caller's partition count (keyed tasks only): the key was mapped to this partition
           by it, so a layout record that says otherwise refuses the call (error 'LAYOUT ...')
  ARGV[13] trace context for field t (absent or '' = none; ARGV[9..12] are then padding for an
           unkeyed task)
  ARGV[14] consumer group (keyed tasks): where a running run's delivery is looked up
  ARGV[15] the owner this call judges ('' or absent: none): the one a first call answered with
           code 2; its liveness key is KEYS[7]

  Returns {task id, generation, code, stream entry id ('' when delayed or existing), name}:
  code 1 created, 0 an existing live run of the key returned (its id and generation), -1 the
  key's live run belongs to another task name (its id, generation and name): nothing written;
  2 the owner must be judged: {this call's task id, 0, 2, owner, name}, nothing written (below).
  A stored generation that is not one (anyone can write it) replies as 0, and a live run with
  one is stale already: an 'add' replaces it instead of returning it. A key state that is not a
  hash reads as none: it is deleted and the key gets a fresh state, as an expired one would.
  A run written over a settled one (completed or failed) records that one's task id and end in
  field sid, which result() reads once the key names this run (settled-state.lua).
  A keyed call whose task id the key state already names was run before (a resend after a
  lost reply): it writes nothing and returns that run, code 1, whatever became of it since; so
  does one whose task id field calls names (one of the last 8 runs written under the key, see
  includes/key-state.lua), with the generation it wrote, once another call wrote a newer run.
  A queued or delayed run of the key whose message is gone (its stream entry or delayed member
  deleted by someone: a DEL of the stream, an XTRIM) is not live: an 'add' supersedes it as a
  replace would (its waiters told 's:<id>'), and another task's such run is no conflict. So is
  one whose entry id holds another task (includes/run-entry.lua: a stream made anew after a DEL
  numbers its entries from Redis's clock alone, so a task enqueued in the purged entry's
  millisecond, or after the clock went back, takes its id): a superseded run's entry is deleted
  only while it holds that run's task (one XRANGE, in place of the XLEN read otherwise), else an
  unrelated task, or this call's own new run written at that id, was deleted and never ran.
  A running run that only its owner can still end (strandedRunOwner: its delivery went with a
  DEL of the stream, or its entry was deleted) is gone too once that owner's lease lapsed (its
  liveness key expired: it is presumed dead, as reclaim.lua presumes it), and never before: a
  live owner may still settle it, and a new run beside it would run the key twice at once. A
  lease that lapsed and was taken again (the key holds another value than the one the run was
  claimed under, field rliv: runLeaseHeld) is not the one that ran it: the lapse aborted the run
  and left it unsettled, so it is gone as it was during the lapse. The
  liveness key is named by the owner, which only the state knows, so where the answer depends on
  it a call that judges no owner answers code 2 with the owner, and the caller sends the same
  call again judging it (ARGV[15], KEYS[7]); a call judging another owner than the state's now
  takes the run for live. A gone running run is superseded as a stale one is: its waiters are
  told 's:<id>', and its owner's late settle (a worker presumed dead but not) finds its
  generation stale and writes nothing.
  Atomic: dedupe, generation draw, supersession and the write are one step, so concurrent
  enqueues of one key create one run. Redis does not roll a script back, so a keyed call's
  refusals come before its first write: the keys it writes are read first (a delayed set, stream
  or schedule index of another type refuses with WRONGTYPE), then the generation is drawn (the
  sequence's INCR, the first write: an out-of-memory Redis refuses there), then a run due now
  is appended (a stream out of ids, its last id the largest there is, refuses there; the
  notices' channels asked first: noticeCheck), then the notices go ('s:<id>',
  'superseded:<gen>:<key>', 'due': a channel an ACL refuses fails the call with only a
  generation number skipped), and only then the other writes. A subscriber acts on a notice once the
  script is over, by when the writes it announces are done. (The old run's removal came first,
  the notices after it or last: such a refusal lost the key's run, or fenced a running one, or
  wrote the new run of a call it rejected.) A key state of another type is deleted first.
  A task without a key that is due now needs none of this: QueueClient sends it as a plain XADD
  of the same fields, or with others in one enqueue-many.lua call (see PlainEnqueueBatcher). One
  without a key comes here only on partition 0, which exists under every count, so it is not
  checked: elsewhere it goes by enqueue-many.lua, which checks the layout (enqueue-script.ts).
]]
-- @include rcall
-- @include now-ms
-- @include message
-- @include delayed
-- @include key-state
-- @include layout-guard
-- @include chain-run
-- @include stranded-run
-- @include run-entry
-- @include notice-check

local stream, delayed, keyState, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, name, payload, mode, key = ARGV[1], ARGV[2], ARGV[3], ARGV[6], ARGV[7]
-- Redis's clock is read only when something needs it: a plain enqueue is one XADD.
local delayMs, due = tonumber(ARGV[4]), tonumber(ARGV[5])
local now = 0
if keyState or delayMs > 0 or due > 0 then now = nowMs() end
if due == 0 then due = now + delayMs end

-- write(fields, channel): the run, in the delayed set (the workers told on `channel` when it is
-- the earliest; a keyed call told them before its writes and passes none) or the stream.
local function write(fields, channel)
  if ARGV[13] and ARGV[13] ~= '' then
    fields[#fields + 1] = 't'; fields[#fields + 1] = ARGV[13]
  end
  if ARGV[10] == '1' then
    fields[#fields + 1] = 'd'; fields[#fields + 1] = tostring(due)
  end
  if due > now then
    -- Its entry id is not known to the caller: keep its result, even a void one, for result().
    if not keyState then fields[#fields + 1] = 'r'; fields[#fields + 1] = '1' end
    local member = encodeDelayed(fields)
    addDelayed(delayed, due, member, channel)
    return 'delayed', member, ''
  end
  local entryId = rcall('XADD', stream, '*', unpack(fields))
  return 'queued', entryId, entryId
end

if not keyState then
  local _, _, entryId = write({'id', id, 'n', name, 'p', payload, 'a', '1'}, ARGV[8])
  return {id, 0, 1, entryId, name}
end

local refused = KEYS[5] and layoutRefusal(KEYS[5], ARGV[12])
if refused then return refused end
-- A key state that is not a hash (`SET <key state> x`) reads as none: a fresh state replaces it.
dropForeignState(keyState)

local existing = rcall('HMGET', keyState, 'state', 'id', 'gen', 'name', 'calls')
local state = existing[1]
-- Every call draws a new task id, so a key state already naming this one means this very call
-- ran before: ioredis resent it after a reply lost with its connection. Its run may have
-- settled meanwhile, or been replaced; adding it again would run the task a second time.
-- Anyone can write the stored generation: one that is not (`x` made a nil that cut the reply
-- short, `inf` read -2^63) is replied as 0.
local storedGen = storedGeneration(existing[3])
if existing[2] == id then
  return {id, storedGen or 0, 1, state == 'queued' and rcall('HGET', keyState, 'mid') or '', name}
end
-- Ran before, and another call wrote a newer run under the key since (a replace(), a cancel and
-- an enqueue): its answer stands, and the newer run is left alone (see calledBefore).
local calledGen = calledBefore(existing[5], id)
if calledGen then return {id, calledGen, 1, '', name} end
local live = state == 'queued' or state == 'delayed' or state == 'running'
-- A waiting run whose message is gone (an operator's DEL of the stream or of the delayed set, an
-- XDEL or XTRIM of its entry) is no live run: returned, or taken for a conflict, it held the key
-- for good (its state is kept without expiry) and nothing of the key ever ran again. It is
-- superseded below like a stale one. Looked up only where the answer depends on it.
local runningGone = false
if live and (mode == 'add' or (existing[4] and existing[4] ~= name)) then
  if state == 'running' then
    -- So is a running run that only its dead owner could have ended (see the header).
    local owner = strandedRunOwner(stream, ARGV[14], keyState)
    local judged = ARGV[15] or ''
    if owner and judged == '' then return {id, 0, 2, owner, name} end
    runningGone = owner ~= nil and owner == judged and KEYS[7] ~= nil and not runLeaseHeld(keyState, KEYS[7])
    live = not runningGone
  elseif liveRunGone(stream, delayed, keyState, state) then
    live = false
  end
end
-- A key names one run of one task: another task's live run under it is a conflict, not a match.
if live and existing[4] and existing[4] ~= name then
  return {existing[2], storedGen or 0, -1, '', existing[4]}
end
-- A live run without an id is a message from before generations: it is never stale, so a new
-- run is added and waits behind it (claim.lua defers it while that run is pending). A live run
-- whose stored generation is not one is stale already (isStale): it is replaced below, as a
-- replace would, rather than handed back to wait for a settle that writes nothing.
if live and mode == 'add' and existing[2] and storedGen then
  return {existing[2], storedGen, 0, '', name}
end

-- Redis does not roll a script back, so whatever can refuse the call comes before its first
-- write: the old run's removal, the generation and the cleared fields came before the new run's
-- write, and a delayed set or stream of another type (anyone can make one) or a channel an ACL
-- refuses failed the call after them, its key's run lost or fenced, or the new run written.
-- A one-off run (replace(), or an enqueue once the chain ended) ends a runtime schedule: its key
-- is a schedule no more. A `@Task` schedule's key keeps its stored schedule: the code owns it.
-- The index is looked up here: one of another type refuses the call with nothing written.
local endsSchedule = ARGV[10] ~= '1' and rcall('HGET', keyState, 'rt') == '1'
if endsSchedule and KEYS[6] then rcall('ZSCORE', KEYS[6], key) end
-- Supersede: what is queued or delayed is removed, its waiters told 's:<id>'; a running run is
-- fenced by the new generation, its worker told 'superseded:<gen>:<key>' to abort it.
local dm, mid = unpack(rcall('HMGET', keyState, 'dm', 'mid'))
local tellOld = (dm or mid or runningGone) and existing[2]
local tellRunning = rcall('HEXISTS', keyState, 'rmid') == 1 and not (live and mode == 'add')
local delayedRun = due > now
-- The keys the writes touch, read first (a key of another type refuses here, WRONGTYPE) unless
-- the new run's own write comes first and nothing was told before it: the delayed set is read
-- by the 'due' notice's check; the stream by the old run's XRANGE (runEntry) when there is one,
-- else by one XLEN when a notice precedes the new run's XADD; the delayed set by one ZSCORE when
-- an old run's ZREM follows an XADD. A key without an older run (or with a settled one) reads
-- nothing more. The old run's entry is deleted only if it is still that run's: a purged stream
-- made anew may hold another task at its id, or take it for the new run's XADD below. One that
-- is not is gone, as a missing one is.
local tellDue = delayedRun and isEarliestBut(delayed, due, dm)
if dm and not delayedRun then rcall('ZSCORE', delayed, dm) end
local queued = mid and runEntry(stream, mid, existing[2])
if not mid and not delayedRun and (tellOld or tellRunning) then rcall('XLEN', stream) end

-- The first write: the generation's draw (the sequence alone; see drawGeneration). Then the
-- notices, before the writes they announce: a subscriber acts only once the script is over, and
-- nothing after them refuses (the keys were read above), so none is sent for a call refused.
-- But a run due now is appended first: a stream out of ids (its last id the largest there is,
-- which anyone with Redis access can XSETID) refuses every `XADD *`, with no type or cheap read
-- to tell, and refused after the notices it had the old run's waiters told 's:<id>' and its
-- running run aborted ('superseded') for a call that failed. Their channels are asked first
-- (noticeCheck, no command), so an ACL refusing one still refuses before the XADD.
local gen = drawGeneration(seq, keyState)
local newRun = {'id', id, 'n', name, 'p', payload, 'a', '1', 'k', key, 'g', string.format('%d', gen)}
local where, ref, entryId
if not delayedRun then
  if tellOld then noticeCheck(ARGV[11]) end
  if tellRunning then noticeCheck(ARGV[8]) end
  where, ref, entryId = write(newRun)
end
if tellOld then rcall('PUBLISH', ARGV[11], 's:' .. existing[2]) end
if tellRunning then rcall('PUBLISH', ARGV[8], 'superseded:' .. string.format('%d', gen) .. ':' .. key) end
if tellDue then rcall('PUBLISH', ARGV[8], 'due') end
if delayedRun then where, ref, entryId = write(newRun) end
if dm then rcall('ZREM', delayed, dm) end
if queued then rcall('XDEL', stream, mid) end
rcall('HSET', keyState, 'gen', gen)
rcall('HDEL', keyState, 'dm', 'mid', 'error', 'finishedAt', 'startedAt')
if endsSchedule then
  dropRuntimeSchedule(keyState)
  if KEYS[6] then rcall('ZREM', KEYS[6], key) end
end
-- sid: the run it follows, when that one settled (completed or failed): its result() still says
-- so once its stored result is gone (resultTtlMs 0, or a shorter one), where the state naming
-- this run made it read superseded. Only the last: an earlier one reads superseded (as xid).
if (state == 'completed' or state == 'failed') and existing[2] then
  rcall('HSET', keyState, 'sid', existing[2] .. ' ' .. state)
end
rcall('HSET', keyState, 'state', where, where == 'queued' and 'mid' or 'dm', ref,
  'id', id, 'name', name, 'attempt', '1', 'enqueuedAt', now, 'dueAt', math.max(due, now),
  'calls', callsWith(existing[5], id, gen))
-- A period given replaces the stored one; none given keeps it (re-timing stays with replace's `every`).
if tonumber(ARGV[9]) > 0 then rcall('HSET', keyState, 'every', ARGV[9]) end
rcall('PERSIST', keyState)
return {id, gen, 1, entryId, name}

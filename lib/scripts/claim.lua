--[[
  KEYS: stream, delayed set, sequence, this consumer's liveness key, a key state per keyed
  message [and the liveness key of the owner it judges] [the layout record and flow keys, when
  rated]. ARGV: group, consumer, defer ms, state TTL, done channel, the liveness value the
  consumer knows as its own, the worker's partition count, then 4 values per message (below).
  Claim delivered messages before their handlers run (the head check). Per message: one this
  consumer does not own (any more) is skipped; a keyed one of a stale generation (or whose key
  state is not a hash: read as none) is acked and deleted without running; a key whose earlier
  generation is still pending elsewhere is deferred (moved to the delayed set) so two runs of
  one key never overlap, and so is one whose earlier run has nothing left in the group but its
  live owner (its delivery went with a DEL of the stream: strandedRunOwner in
  includes/stranded-run.lua), whose handler may still run, and so is one written at the very id
  of its key's running run (the key state names it queued there: mid; a stream made anew after a
  DEL numbers its entries from Redis's clock alone), which is no re-claim of that run, and is
  judged by its owner's lease once back; otherwise a keyed run is marked
  running under this delivery (with the lease it runs under: the value of this consumer's
  liveness key, field rliv) and gets a fencing number, but only while that key holds the value
  the consumer passed as its own (ARGV[6]); else nothing is written for it (code 5, below).
  Unkeyed messages only pass the ownership check: the worker sends them here when a lease lapse
  may have let another worker take them since Redis handed them over. A flow run under a rate limit starts here:
  its admission's tokens (markers, field rl) become start records at Redis's time, and a start
  without one (a restart, reclaimed or recovered: its tokens were spent by its first start; or
  an entry admitted under recorded limits without a rate) needs a free token in each window, or
  waits and reserves the next token of each full window ahead of admissions (see
  includes/rate.lua); a claim resent after its reply was lost finds the start its first
  execution counted for the delivery, and starts on it (rateStart). The windows are those of the worker's own @Task definition
  when it has a rate (so a producer with an older definition, or none, cannot start runs
  outside it), else the recorded ones (the last enqueuer's). The worker's own windows are its
  partition's share of the task's rateLimit under its partition count (flow-limits.ts): while
  the partition's layout record holds another count (a worker running on after a count change)
  that share is another count's, so the recorded ones gate the start instead.
  A claim with a keyed message reads the delayed set's type (one TYPE) before its first write:
  one of another type refuses the whole claim, WRONGTYPE naming it, nothing written (a deferral
  acks and deletes its entry before its ZADD, which would fail after them).

  KEYS[1] stream
  KEYS[2] delayed set
  KEYS[3] the queue's sequence (fencing numbers are drawn from it)
  KEYS[4] this consumer's liveness key: read (once per call) when a keyed run would be marked
          running
  KEYS[5..] key state hash of each keyed message, in ARGV order, each followed by the liveness
            key of the owner its message judges (kind 'j<owner>', below) when it judges one
  then, when a message is under a rate limit, the partition's layout record (read only for a
  message that carries the worker's limits) and its flow keys (see includes/flow.lua)

  ARGV[1] consumer group
  ARGV[2] consumer (this worker)
  ARGV[3] defer delay in ms
  ARGV[4] key state TTL in ms (a cancelled key whose run is skipped here expires after it)
  ARGV[5] done channel (told 's:<id>' or 'x:<id>' for a run skipped as stale, and for a key's
          earlier run ended here: taken over from its owner judged dead, below)
  ARGV[6] the value of this consumer's liveness key that its worker knows as its own (its
          heartbeat saw the reply of the write that set it, before this call was sent: see
          Lease.livenessSince), '' when it knows none
  ARGV[7] the queue's partition count as the worker maps it (its limits' share depends on it)
  ARGV[8..] per message, 4 values: stream entry id, task id, generation (for a rated run,
            which has none: the Redis ms of its delivery's start counted by an earlier claim
            whose run has not begun, to be moved to now, else 0), '1' keyed, 'j<owner>'
            keyed, judging the owner a first claim named (code 4), '0' unkeyed, or 'r' an
            unkeyed flow run whose start is counted here, followed by the worker's limits
            record of its task when that has a rate ('r<global> <group> <aging ms> <max>
            <perMs> <group max> <group perMs>', as F.limits holds them)

  Returns {codes, fences, deliveries}: per message a code, 1 run, 0 stale (skipped), 2
  deferred, -1 not ours (skipped), 3 wait (a rate window is full: still this consumer's, claim
  it again later), 4 judge the owner (nothing written for it, below), 5 unproven (a keyed run
  that would run, but the consumer's liveness key holds another value than ARGV[6], or none
  while ARGV[6] names one: nothing written, below), 6 no fence (a keyed run that would run, but
  its fence's draw passed 2^53-1, past the numbers a script holds exactly: nothing written but
  the draw, the delivery still this consumer's; includes/key-state.lua), a fencing number (keyed
  runs that run; 0 otherwise), and the entry's delivery count (0 when not ours): a reply that
  said 1 may be stale, and an unkeyed run's fence counts deliveries, so it must not fall below
  an earlier delivery's. When a message is
  under a rate limit, two more lists: per message its start time (Redis ms; 0 unless a rated
  run runs) and a wait in ms (for 3, how long until a token may be free; for a rated run, how
  long until its start leaves its shortest window, when a waiting task may be admitted).
  An earlier run that only its owner can still end holds the key while that owner's liveness
  key exists (it may settle it: complete.lua's recordsRunHere), and no longer once it expired
  (presumed dead, as reclaim.lua presumes it), nor once it holds another value than the run was
  claimed under (field rliv: that lease lapsed and was taken again, and the lapse aborted the
  run; see runLeaseHeld in includes/stranded-run.lua). Taken over, that run gets no settle: its
  waiters are told here, by its task id (field rtid, '<rmid> <task id>', written with the running
  record: runningTask in includes/key-state.lua), 's:<id>' (or 'x:<id>' when it is the key's
  last cancelled task, xid), as a result() asked later reads it (a replaced run's task id was in
  no field: they heard nothing until their timeout; one PUBLISH, on this path alone); not while
  the state names that task (a legacy run, generation 0, taking over: it reads pending). That
  key is named by the owner, which only the key state knows: a message that judges no owner
  answers code 4, and then the reply has a
  sixth list (after starts and waits, 0s unless rated): per message the owner to judge ('' for
  the others). The caller claims that message again with kind 'j<owner>'. One judging another
  owner than the state's now is deferred: judged again when it comes back. So the common path
  (the earlier delivery pending, or none) costs nothing more, and the purged one a round trip;
  a keyed run marked running costs one GET per call (KEYS[4]) and one field, an unkeyed none.
  Why code 5: after a lapse (or a renewal) the heartbeat writes the key with a new value, and a
  claim that Redis runs after that write but before its reply reached the worker would record a
  value the worker does not yet know as its own. That run does not start (the lapse broke the
  lease after its handover was proven), and the worker, taking the recorded value for the one
  before, asks no new one (LeaseKeeper.keyedRunUnstarted): stranded, the run would be judged held
  by its live owner for good. Left queued instead, its delivery stays pending for this consumer's
  recovery, and once its entry is gone the key state reads as a queued run whose message is gone,
  which an enqueue supersedes.
  Atomic: the checks and the mark happen in one step, so two workers never both run a key,
  and a rated run's start is counted in the same step that lets it start. With a rated message,
  a flow key it touches (tasks, limits, starts, wake) of another type (includes/flow.lua) refuses
  the whole claim, WRONGTYPE naming the key, before any write. With a keyed message, so do a
  delayed set of another type (includes/key-type.lua) and a done channel the caller's ACL user
  may not publish to (NOPERM, includes/notice-check.lua, no command: a stale run is told there).
]]
-- @include rcall
-- @include now-ms
-- @include owned-by
-- @include entry-id
-- @include key-state
-- @include message
-- @include flow
-- @include stranded-run
-- @include key-type
-- @include notice-check
-- @include layout-guard

local stream, delayed, seq = KEYS[1], KEYS[2], KEYS[3]

-- Markers of windows that `rates` lacks (admitted under other rates: a definition changing
-- across the fleet) become start records too: their tokens were taken, and a marker left
-- pending would count in its window for good. A reservation there (a wait under the other
-- rates) goes: it was no token, and left it would hold one for good.
local function rateStartOthers(F, rates, name, group, entryId, delivery)
  local counted = {}
  for _, win in ipairs(rateWindows(rates, name, group)) do counted[win.key] = true end
  for _, key in ipairs({'t\0' .. name, 'g\0' .. name .. '\0' .. group}) do
    if not counted[key] then
      if rcall('ZREM', F.starts, rateMarker(key, entryId)) == 1 then
        rcall('ZADD', F.starts, '0', key .. '\0' .. stamp(rateNow()) .. '\0' .. entryId .. '\0' .. delivery)
        rateStartsExist = true
        -- The window's waiting pairs wake when this start leaves it (its rate is the recorded one).
        local recorded = rateWindows(select(4, flowLimits(F, name)), name, group)
        for _, win in ipairs(recorded) do
          if win.key == key then rateWakeNoLater(F, win.wake, rateNow() + win.per) end
        end
      end
      rcall('ZREM', F.starts, rateReservation(key, entryId))
    end
  end
end

-- A flow run whose start is counted starts, or waits: {code, start time, wait}. `ownRates`, the
-- worker's, gate it when given, else the recorded ones. One its admission did not hold (a
-- hostile copy of the field, or a hold without its group part, which splitPair would fail the
-- claim's whole batch on) has no window to count in and runs.
-- The worker's count holds under the layout record as enter-admission.lua reads it
-- (workerCountHolds), read once per call, when first needed.
local ownCountIsStored
do
  local holds = nil
  ownCountIsStored = function()
    if holds == nil then holds = workerCountHolds(rcall('GET', KEYS[#KEYS - FLOW_KEY_COUNT]), ARGV[7]) end
    return holds
  end
end

local function rateClaim(F, entryId, taskId, delivery, ownRates, earlier)
  local held = rcall('HGET', F.tasks, taskId)
  if not held or string.sub(held, 1, #entryId + 1) ~= entryId .. '\0'
      or not string.find(held, '\0', #entryId + 2, true) then
    return 1, rateNow(), 0
  end
  local name, group = splitPair(string.sub(held, #entryId + 2))
  -- The worker's share under another count than the record's would be that count's share.
  if ownRates and not ownCountIsStored() then ownRates = nil end
  local rates = ownRates or select(4, flowLimits(F, name))
  -- No rate known (the recorded ones dropped since its admission): its markers go, and nothing
  -- counts it.
  if not rates then rateGiveBack(F, name, group, entryId); return 1, rateNow(), 0 end
  local started, ms = rateStart(F, rates, name, group, entryId, delivery, earlier)
  if not started then return 3, 0, ms end
  rateStartOthers(F, rates, name, group, entryId, delivery)
  return 1, rateNow(), ms
end
local group, consumer, deferMs, stateTtl, channel = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local ownValue = ARGV[6]
local codes, fences, deliveries, starts, waits, owners = {}, {}, {}, {}, {}, {}
local asked = false
local k = 5
-- This consumer's lease as a run records it (leaseValue), read once, when first needed.
local ownLease = nil
local function runsUnder()
  if ownLease == nil then ownLease = leaseValue(KEYS[4]) or false end
  return ownLease
end
local F = nil
local function isRated(kind) return string.sub(kind, 1, 1) == 'r' end
-- The owner a keyed message judges (kind 'j<owner>'), or nil.
local function judgedOwner(kind)
  if string.sub(kind, 1, 1) == 'j' then return string.sub(kind, 2) end
  return nil
end
for i = 11, #ARGV, 4 do
  if isRated(ARGV[i]) then F = flowKeysAtEnd() end
end
-- The flow keys a rated start touches, checked before the first write (includes/flow.lua): one
-- of another type refuses the whole claim, nothing written.
if F then flowCheckKeys(F, {'tasks', 'limits', 'starts', 'wake'}) end
-- A keyed message may be deferred, after its entry's XACK and XDEL: a delayed set of another
-- type would fail the ZADD after them (the run lost), so it refuses the claim before any write.
-- A call of unkeyed messages only defers nothing and reads nothing here. So does a done channel
-- the caller may not publish to: a stale keyed run's notice goes out after its ack (and after
-- the writes for the call's runs before it), where the refusal failed the claim.
for i = 11, #ARGV, 4 do
  if ARGV[i] == '1' or judgedOwner(ARGV[i]) then
    keyCheckType(delayed, 'delayed set', 'zset')
    noticeCheck(channel)
    break
  end
end

for i = 1, (#ARGV - 7) / 4 do
  local base = 4 + i * 4
  local entryId, taskId, gen = ARGV[base], ARGV[base + 1], tonumber(ARGV[base + 2])
  local judged = judgedOwner(ARGV[base + 3])
  local keyState, judgedAlive = nil, nil
  if judged or ARGV[base + 3] == '1' then keyState = KEYS[k]; k = k + 1 end
  if judged then judgedAlive = KEYS[k]; k = k + 1 end
  fences[i] = 0
  starts[i], waits[i], owners[i] = 0, 0, ''
  local row = rcall('XPENDING', stream, group, entryId, entryId, '1', consumer)[1]
  deliveries[i] = row and row[4] or 0
  if not row then
    codes[i] = -1
  elseif isRated(ARGV[base + 3]) then
    -- An unkeyed run has no generation: its place carries the earlier start to move (0 none).
    codes[i], starts[i], waits[i] = rateClaim(F, entryId, taskId, row[4], rateParse(string.sub(ARGV[base + 3], 2)), gen)
  elseif not keyState then
    codes[i] = 1
  elseif notAHash(keyState) then
    -- A state that is not a hash reads as none (stale): the run is dropped, the state left as is.
    rcall('XACK', stream, group, entryId)
    rcall('XDEL', stream, entryId)
    rcall('PUBLISH', channel, 's:' .. taskId)
    codes[i] = 0
  elseif isStale(keyState, gen, taskId) then
    rcall('XACK', stream, group, entryId)
    rcall('XDEL', stream, entryId)
    -- It may have been running here before a takeover (cancelled, then its worker died).
    releaseKey(keyState, entryId, stateTtl)
    rcall('PUBLISH', channel, staleToken(keyState, taskId))
    codes[i] = 0
  else
    local running, queuedAt, rtid, xid, current =
      unpack(rcall('HMGET', keyState, 'rmid', 'mid', 'rtid', 'xid', 'id'))
    -- The running run at this very id is another entry when the state names a queued run there
    -- too: a claim drops mid as it writes rmid, so that run was written since, at the id of the
    -- running run's delivery, which went with a DEL of the stream (a stream made anew numbers its
    -- entries from Redis's clock alone). That run is earlier and still running: this one waits,
    -- and once deferred (its delivery acked), is judged by the owner's lease, as a stranded run
    -- is. A re-claim of the running run itself (a reclaim, a resent claim) finds no mid there.
    local reused = running == entryId and queuedAt == entryId
    -- One that is no entry id (anyone can write the state) names no delivery; XPENDING would
    -- fail the claim of the whole batch on it, at every recovery.
    local earlier = running and (running ~= entryId or reused) and isEntryId(running)
    local held = reused or (earlier and pendingOwner(stream, group, running) ~= nil)
    -- Its delivery gone with its stream, the earlier run may still be running on its owner:
    -- held while that owner lives (see the header).
    local owner = earlier and not held and strandedRunOwner(stream, group, keyState)
    if owner and not judged then
      -- Nothing written: the caller claims it again judging that owner.
      codes[i], owners[i], asked = 4, owner, true
    elseif held or (owner and (owner ~= judged or runLeaseHeld(keyState, judgedAlive))) then
      local entry = rcall('XRANGE', stream, entryId, entryId)[1]
      rcall('XACK', stream, group, entryId)
      rcall('XDEL', stream, entryId)
      if entry then
        local member = encodeDelayed(entryFields(entry[2]))
        rcall('ZADD', delayed, nowMs() + deferMs, member)
        rcall('HSET', keyState, 'state', 'queued', 'dm', member)
        rcall('HDEL', keyState, 'mid')
      end
      codes[i] = 2
    elseif runsUnder() and runsUnder() ~= ownValue then
      -- A value its worker does not know as its own (see the header): nothing written.
      codes[i] = 5
    else
      -- The fence's INCR answers a double: one past SEQUENCE_MAX is not exact (two claims told
      -- one fence), so the run is not marked: nothing written for it but the draw (code 6).
      local fence = rcall('INCR', seq)
      if fence > SEQUENCE_MAX then
        codes[i] = 6
      else
        -- An earlier run taken over here (its owner judged dead, its delivery gone) gets no
        -- settle: its waiters are told now, as a result() asked later reads it. Its task id is
        -- in no other field once a replace() named this run in id. Not when the state still
        -- names it (a legacy run, generation 0, taking the key over: that task reads pending).
        local runningId = earlier and runningTask(rtid, running)
        if runningId and runningId ~= taskId and runningId ~= current then
          rcall('PUBLISH', channel, lostToken(runningId, xid))
        end
        -- The lease it runs under, in the same write; one that cannot be read is recorded as none.
        local lease = runsUnder()
        rcall('HSET', keyState, 'state', 'running', 'rmid', entryId, 'rown', consumer, 'fence', fence,
          'rliv', lease or '', 'rtid', entryId .. ' ' .. taskId, 'startedAt', nowMs())
        if not lease then rcall('HDEL', keyState, 'rliv') end
        rcall('HDEL', keyState, 'mid')
        codes[i] = 1
        fences[i] = fence
      end
    end
  end
end
if asked then return {codes, fences, deliveries, starts, waits, owners} end
if F then return {codes, fences, deliveries, starts, waits} end
return {codes, fences, deliveries}

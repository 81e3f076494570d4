--[[
  Remove one task that is queued, delayed or waiting in the flow waiting room (never one that
  runs): an operator's removal by id.
  KEYS: stream, delayed set, result key, call record, [key state, sequence, schedule index,
  stranded cancels], flow keys. ARGV below.
  KEYS[1] stream
  KEYS[2] delayed set
  KEYS[3] result key of the task
  KEYS[4] the call's record (includes/call-record.lua, kept for ARGV[7] ms): a resend of a
          removal that ran answers 1, as it did, not 0 (the task it removed is not there)
  KEYS[5] key state hash (keyed tasks only)
  KEYS[6] the queue's sequence (keyed tasks only)
  KEYS[7] the partition's schedule index (keyed tasks only; see schedule-runtime.lua): looked up
          before the first write when the removal ends a schedule, so one of another type
          refuses the removal (WRONGTYPE) with nothing written
  KEYS[8] the partition's stranded cancels (keyed tasks only; see cancel.lua): the key goes there
          when the removal leaves an older generation's run running (below)
  KEYS[last 11] the partition's flow keys (see includes/flow.lua): a removed admitted flow entry
          releases its slots; a waiting one leaves the room
  ARGV[1] consumer group; ARGV[2] task id; ARGV[3] 'queued', 'delayed' or 'waiting' (in the
  room); ARGV[4] the stream entry id (queued) or the delayed member (delayed), '' (waiting); ARGV[5] key ('' none); ARGV[6] done channel
  (told 'x:<task id>'); ARGV[7] TTL in ms of what the removal leaves: the key state, or an
  unkeyed task's cancelled record, the call's record (the module's resultTtlMs; 0 leaves none); ARGV[8] the most
  consumer groups the stream may have for a queued task's removal: past it, error
  'GROUPS <count>' and nothing written (includes/group-row.lua: finding the group lists them all)

  A queued task is removed only when the entry at ARGV[4] holds it (its fields id and k): a
  stream made anew after a purge may hold another task at a purged entry's id (see
  includes/run-entry.lua), which is then left alone (0).
  Returns 1 removed, 0 not there (it ran, was removed, was promoted or never existed), -1 running
  (its entry is pending in the group): nothing written for 0 and -1 but the call's record; the
  recorded answer, before any check, when KEYS[4] holds one (a resend).
  Atomic: the checks, the removal and the records are one step, so a worker cannot read the entry
  in between, and a status() or result() sees the task either still there or cancelled. A flow
  key of another type (includes/flow.lua) refuses a flow task's removal, WRONGTYPE naming the
  key, before any write.
  A keyed task whose key state names it ends as a cancel does (cancel.lua): a new generation is
  drawn, so a copy already read never runs, and the state says cancelled; a runtime schedule's
  run ends its schedule as cancel.lua does (its markers and stored schedule go, and the key
  leaves the index: else the cancelled state was kept without expiry and listed for good, a
  schedule that never fires). An older generation still running under the key (a replace()
  while it ran, its replacement removed) keeps its running record and no TTL, its settle ending
  it (releaseKey), and the key goes into the stranded cancels, as cancel.lua does it: should its
  entry be deleted while its worker is dead (the sweep then dropping the delivery), no settle or
  reclaim ends it, and the sweep does once that worker's lease lapsed (end-stranded-cancel.lua).
  (Recorded nowhere, the state kept 'cancelled' and no TTL until the key's next enqueue.) A
  `@Task` chain's key keeps its stored schedule. A state that names another task (a newer
  generation) is left alone, as is one that is not a hash (it reads as none). An unkeyed task
  has no key state: its result key says cancelled (CANCELLED, in place of a retry's pending
  marker; a stored result is kept).
  Redis does not roll a script back, so the removal's refusals come before its first write: what
  it writes is read first (the task where it was found, the schedule index, the stranded
  cancels, flow keys and result key: one of another type refuses with WRONGTYPE; a flow key
  F.entered of another type is deleted, as it reads as none), then a keyed task's generation is
  drawn (the sequence's INCR, its first write: a sequence that is no number refuses there, and
  so does an out-of-memory Redis), then waiters are told 'x:<id>' (a channel an ACL refuses
  fails the call with at most a generation number skipped), and only then the writes. A
  subscriber acts on the notice once the script is over, by when the task is gone. (The task was
  removed first, its result key read and the notice sent last: such a refusal removed it while
  the caller was told only of an error, its waiters never told and the call's answer not
  recorded, so a resend answered 0.)
]]
-- @include rcall
-- @include now-ms
-- @include key-state
-- @include dead-letter-entry
-- @include message
-- @include flow
-- @include group-row
-- @include entry-id
-- @include call-record

local stream, delayed, resultKey, record = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local keyState, seq, index, strandedCancels = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local group, taskId, where, ref, key, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local stateTtl = tonumber(ARGV[7])
-- KEYS[5] to KEYS[8] are a keyed task's; the flow keys close KEYS.
if key == '' then keyState, seq, index, strandedCancels = nil, nil, nil, nil end
local PENDING_MARKER = '{"ok":null}'
-- A removed unkeyed task (settled-state.ts parseStored); ok false, so no reader takes it for a value.
local CANCELLED = '{"ok":false,"cancelled":true}'

local recorded = recordedAnswer(record)
if recorded then return tonumber(recorded) end
-- answer(code): the call's answer, recorded for a resend.
local function answer(code) return tonumber(recordAnswer(record, stateTtl, tostring(code))) end
-- Whether the removal ends a runtime schedule (a key state naming the task, of a schedule): its
-- index is looked up before the first write, so one of another type (anyone can write it)
-- refuses the removal with nothing written, not after the run was gone.
local namesTask = keyState and not notAHash(keyState) and rcall('HGET', keyState, 'id') == taskId
local endsSchedule = namesTask and rcall('HGET', keyState, 'rt') == '1'
if endsSchedule then rcall('ZSCORE', index, key) end
-- An older generation running under the key is left to its settle and recorded (see the header):
-- a set of another type refuses here.
local running = namesTask and rcall('HEXISTS', keyState, 'rmid') == 1
if running then rcall('SCARD', strandedCancels) end

-- Where the task was found, checked (nothing written): a task gone answers 0, one running -1.
local fields, roomMember
if where == 'queued' then
  local entry = rcall('XRANGE', stream, ref, ref)[1]
  fields = entry and entryFields(entry[2])
  if not entry or fieldOf(fields, 'id') ~= taskId or (fieldOf(fields, 'k') or '') ~= key then return answer(0) end
  -- Without the group (no worker has started yet) nothing has read it: no pending check.
  local g, refusal = groupRow(stream, group, tonumber(ARGV[8]))
  if refusal then return refusal end
  if g then
    if rcall('XPENDING', stream, group, ref, ref, '1')[1] then return answer(-1) end
    -- Not pending yet still there: read and acked, awaiting its trim (complete.lua trims
    -- approximately).
    if not idGreater(entry[1], g['last-delivered-id']) then return answer(0) end
  end
  -- A flow key of another type refuses the removal before its first write (includes/flow.lua).
  if fieldOf(fields, 'fl') == '1' then flowCheckSettle(flowKeysAtEnd()) end
elseif where == 'waiting' then
  -- A task under flow control takes no key (enqueue refuses one), so nothing more to end.
  flowCheckKeys(flowKeysAtEnd(), {'tasks', 'room', 'entered'})
  local waiting
  waiting, roomMember = flowWaiting(flowKeysAtEnd(), taskId)
  if not waiting then return answer(0) end
else
  if not rcall('ZSCORE', delayed, ref) then return answer(0) end
  local ok, m = pcall(cjson.decode, ref)
  if not ok or type(m) ~= 'table' or m.id ~= taskId or (m.k or '') ~= key then return answer(0) end
end
-- A retry left a "not settled yet" marker for result(); the task is gone, so is the marker. An
-- unkeyed task's handle reads its end from here alone (else 'pending' for ever, or 'completed'
-- once its first entry is gone): the record says cancelled, as the channel does below. Read
-- before the first write: a result key of another type refuses here.
local stored = rcall('GET', resultKey)

-- A keyed task's first write: its generation's draw (the sequence alone; see drawGeneration).
-- Then the notice, before the writes it announces: nothing after it refuses.
local gen = namesTask and drawGeneration(seq, keyState)
rcall('PUBLISH', channel, 'x:' .. taskId)
if where == 'queued' then
  rcall('XDEL', stream, ref)
  -- An admitted flow entry that never ran gives its slots back (and feeds the next waiting).
  if fieldOf(fields, 'fl') == '1' then flowRelease(flowKeysAtEnd(), stream, taskId, ref) end
elseif where == 'waiting' then
  flowUnwait(flowKeysAtEnd(), taskId, roomMember)
else
  rcall('ZREM', delayed, ref)
end

-- A key state that is not a hash (`SET <key state> x`) reads as none, naming no task: left as is.
if namesTask then
  rcall('HDEL', keyState, 'dm', 'mid')
  rcall('HSET', keyState, 'gen', gen, 'state', 'cancelled', 'finishedAt', nowMs(), 'xid', taskId)
  if endsSchedule then
    dropRuntimeSchedule(keyState)
    rcall('ZREM', index, key)
  end
  -- An older generation may still run (its key is released when it settles).
  if running then
    rcall('SADD', strandedCancels, key)
  else
    expireSettled(keyState, stateTtl)
  end
end
if key == '' and stateTtl > 0 and (not stored or stored == PENDING_MARKER) then
  rcall('SET', resultKey, CANCELLED, 'PX', stateTtl)
elseif stored == PENDING_MARKER then
  rcall('DEL', resultKey)
end
return answer(1)

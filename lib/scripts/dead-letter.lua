--[[
  KEYS: stream, dead-letter stream, delayed set, sequence, the call's record, [result key], [key
  state, stranded cancels]. ARGV: group, consumer, entry id, reason, the settle settings, a
  successor's timing and the record's TTL (details below).
  Dead-letter one delivered message that cannot run or must not run again: missing fields, an
  undecodable payload, an unknown task name, a poison message past the delivery limit. Keeps
  its original fields (bounded, see includes/dead-letter-entry.lua) and the reason. Fenced like
  complete. A keyed run ends here with the same key transition as a failed run in fail.lua, so
  its key is never left running or queued forever, and a periodic run (it carries its slot,
  field d) of a key that stores a schedule gets its next slot, timed like a failed run's: from
  the worker's timing (ARGV[12]) and the schedule the key state stores, under a task id of its
  own (ARGV[14]); a one-off run (a replace() on a schedule's key) schedules none, and neither
  does a run of a `@Task` chain a deploy dropped (the worker says so in ARGV[12], as its
  settle would in complete.lua or fail.lua): the chain ends there too.
  Its failure is stored and announced to result() waiters, unless the run is stale (its key was
  cancelled or replaced while it ran): then its waiters hear what its key did ('x' or 's', as
  fail.lua and claim.lua tell a stale run's) and nothing is stored under its result key, so its
  handle answers as it did before (it stored a failure and told 'f': a task read cancelled or
  superseded then read failed, by its delivery count alone). The dead letter still records the
  run, its last pair saying what ended it ('stale': 'cancelled' or 'superseded'); redrive.lua
  refuses it (cancelled, or key-moved-on), also once the key state has expired, so a cancelled
  run is not run again, nor a superseded one after its key's newer runs. A call resent after its reply was
  lost (ioredis resends it on its next connection) finds the entry acked by its first execution:
  the call's record (includes/call-record.lua) makes it answer dead-lettered, writing nothing,
  where it answered already settled and the worker reported nothing.

  KEYS[1] stream
  KEYS[2] dead-letter stream
  KEYS[3] delayed set
  KEYS[4] the queue's sequence
  KEYS[5] the call's record (includes/call-record.lua, kept for ARGV[13] ms), named by an id
          the caller draws per call
  KEYS[6] result key of the entry's task (only when ARGV[10] is not '')
  KEYS[6 or 7] key state hash of the entry's key (only when ARGV[11] is not '')
  KEYS[7 or 8] the partition's stranded cancels, a set of keys (with the key state; see below)
  KEYS[last 11] the partition's flow keys (see includes/flow.lua): an entry admitted under flow
          control releases its slots here (reclaim's poison path too), which feeds waiting tasks

  ARGV[1]  consumer group
  ARGV[2]  consumer (this worker)
  ARGV[3]  stream entry id
  ARGV[4]  reason
  ARGV[5]  dead-letter stream max length (approximate)
  ARGV[6]  done channel (told 'f:<task id>', or 'x:' / 's:' for a stale run: above)
  ARGV[7]  key state TTL in ms
  ARGV[8]  result TTL in ms (0 = not stored)
  ARGV[9]  encoded failure result
  ARGV[10] the task id the result key was derived from ('' when the entry names none)
  ARGV[11] the key the key state was derived from ('' when the entry names none)
  ARGV[12] a periodic run's successor timing as JSON, {e} or {c, z, f} (see
           includes/successor.lua), or '' when the worker has no schedule for it: the
           successor is then timed from the key state alone; {w} (the worker's boot, Redis
           time) for a run of a `@Task` chain the worker does not define here: as in a
           settle, the chain then ends unless a boot defined it after that (scheduleSuccessor)
  ARGV[13] how long the call's record is kept, in ms (0: none)
  ARGV[14] the task id of a periodic run's successor: a new one (it was '<task id>~<entry id>',
           16 characters longer at each dead-lettered slot: past 256 after 14 in a row, every
           run of the chain was malformed, dead-lettered unrun, for good; and it lost the
           '~<partition>' suffix a handle rebuilt from the id reads)
  The keys are used only when the entry's own fields name the same task id and key, and the key
  state only when it is a hash (or none): one of another type is left as it is, no transition.
  A run that ends its key here while an older generation of the key still runs (a replace()
  while that one ran, the replacement never claimed: dead-lettered as poison, or malformed)
  leaves the key 'failed' with that run's running record and no TTL, for its settle or a
  reclaim's claim (stale by then) to release: the key goes into the stranded cancels, as
  cancel.lua records a run it leaves to a settle, for the sweep to end that run should its entry
  be deleted while its worker is dead (end-stranded-cancel.lua). No settle or reclaim came then,
  and the state kept 'failed' with the running record and no TTL for good (until the key's next
  enqueue). Costs one SCARD and one SADD when an older run still runs (the generation check
  reads the running record in the same HMGET; a run of generation 0 reads it with one HMGET more).

  Returns 1 dead-lettered (by this call: its first execution, when resent), -1 refused, -2
  already settled.
  Atomic: the copy to the dead-letter stream, the key transition and the ack are one step;
  everything that can fail is computed before the first write (a stranded cancels set of
  another type, read first when the key is recorded there, refuses with WRONGTYPE), and a flow key of another type
  (includes/flow.lua) refuses a flow entry's call, WRONGTYPE naming the key, before it, as a
  delayed set of another type refuses a periodic run's (its successor goes there: the dead letter
  was written and the run acked before that ZADD failed, the chain ended without a successor),
  and so does a sequence INCR refuses, or whose draw would pass 2^53-1 (its successor's generation: sequenceCheck,
  includes/key-state.lua), and a done channel the caller's ACL user may not publish to (NOPERM,
  includes/notice-check.lua: its PUBLISH, last, was refused after every write).
]]
-- @include rcall
-- @include now-ms
-- @include owned-by
-- @include key-state
-- @include message
-- @include successor
-- @include end-run
-- @include dead-letter-entry
-- @include flow
-- @include call-record
-- @include key-type
-- @include notice-check

local stream, dlq, delayed, seq, record = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local group, consumer, entryId, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local stateTtl, resultTtl, derivedId, derivedKey = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[10], ARGV[11]
local nextKey = 6
local resultKey, keyState, strandedCancels = nil, nil, nil
if derivedId ~= '' then resultKey = KEYS[nextKey]; nextKey = nextKey + 1 end
if derivedKey ~= '' then keyState, strandedCancels = KEYS[nextKey], KEYS[nextKey + 1] end
-- A key state that is not a hash reads as none: the run is dead-lettered, the state left as is.
if keyState and notAHash(keyState) then keyState = nil end

if not ownedBy(stream, group, entryId, consumer) then
  if recordedAnswer(record) then return 1 end
  return pendingOwner(stream, group, entryId) and -1 or -2
end
local entry = rcall('XRANGE', stream, entryId, entryId)[1]
local fields = entry and entryFields(entry[2]) or {}
local deadFields = deadLetterFields(fields, reason, entryId)
-- A keyed entry without a valid generation is of generation 0: never stale, and endKeyedRun ends
-- the key's state only if that state is about this very task.
local taskId, key = fieldOf(fields, 'id'), fieldOf(fields, 'k')
local gen = tonumber(fieldOf(fields, 'g') or '0') or 0

-- A periodic run keeps its chain, as when it fails for good in fail.lua: the next slot follows
-- the worker's timing and the schedule its key state stores. Only a periodic run (field d): a
-- one-off run under a schedule's key never starts or keeps a chain.
local successor = nil
if keyState and key == derivedKey and taskId and fieldOf(fields, 'd')
    and (rcall('HEXISTS', keyState, 'sk') == 1 or rcall('HEXISTS', keyState, 'every') == 1) then
  local t = ARGV[12] ~= '' and cjson.decode(ARGV[12]) or {}
  successor = cjson.encode({id = ARGV[14],
    n = rcall('HGET', keyState, 'name') or fieldOf(fields, 'n') or '', p = fieldOf(fields, 'p') or 'null', k = key,
    e = t.e, c = t.c, z = t.z, f = t.f, w = t.w})
end

-- A flow key of another type refuses it before its first write (includes/flow.lua); so do a
-- delayed set of another type that a successor goes to and a sequence INCR refuses for its
-- generation (both written after the dead letter and the ack).
if taskId and fieldOf(fields, 'fl') == '1' then flowCheckSettle(flowKeysAtEnd()) end
if successor then
  keyCheckType(delayed, 'delayed set', 'zset')
  sequenceCheck(seq, 1)
end
-- So does a done channel the caller's ACL user may not publish to: the notice goes out last
-- (sent first, a dead-letter stream of another type would refuse the XADD after it, waiters
-- told of a failure never written), and the check costs no command (includes/notice-check.lua).
local tells = resultKey and taskId == derivedId
if tells then noticeCheck(ARGV[6]) end
-- The key transition, judged before the writes (they touch no key state field read here). A
-- current run ending while an older generation still runs leaves that run's record to its
-- settle, and the key goes into the stranded cancels (see the header): one of another type
-- refuses here.
local keyed = keyState and key == derivedKey and taskId
local stale, olderRun = false, false
if keyed then
  local storedGen, current, rmid = unpack(rcall('HMGET', keyState, 'gen', 'id', 'rmid'))
  stale = staleAgainst(storedGen, current, gen, taskId)
  olderRun = not stale and current == taskId and rmid ~= false and rmid ~= entryId
  if olderRun then rcall('SCARD', strandedCancels) end
end
-- What a stale run's waiters are told, read before the writes (its key's last cancel: xid).
local lost = stale and staleToken(keyState, taskId)
-- A stale run's dead letter says so in its last pair ('stale', 'cancelled' or 'superseded'),
-- after the reason and the entry, where no field the task's producer wrote can stand: redrive.lua
-- refuses it for good, not only while the key state lives.
if lost then
  deadFields[#deadFields + 1] = 'stale'
  deadFields[#deadFields + 1] = string.sub(lost, 1, 1) == 'x' and 'cancelled' or 'superseded'
end
rcall('XADD', dlq, 'MAXLEN', '~', ARGV[5], '*', unpack(deadFields))
rcall('XACK', stream, group, entryId)
rcall('XDEL', stream, entryId)
if taskId and fieldOf(fields, 'fl') == '1' then flowRelease(flowKeysAtEnd(), stream, taskId, entryId) end
if stale then
  releaseKey(keyState, entryId, stateTtl)
elseif keyed then
  endKeyedRun(keyState, delayed, seq, entryId, taskId, 'failed', reason, stateTtl, successor, nowMs())
  if olderRun then rcall('SADD', strandedCancels, key) end
end
if tells and lost then
  rcall('PUBLISH', ARGV[6], lost)
elseif tells then
  if resultTtl > 0 then rcall('SET', resultKey, ARGV[9], 'PX', resultTtl) else rcall('DEL', resultKey) end
  rcall('PUBLISH', ARGV[6], 'f:' .. taskId)
end
recordAnswer(record, ARGV[13], '1')
return 1

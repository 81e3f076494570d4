--[[
  KEYS: stream, delayed set, dead-letter stream, result key, [key state, sequence]. ARGV: group,
  consumer, done channel, state TTL, entry id, retry delay, ..., the task's fields (below).
  Settle one failed run: schedule a retry with its backoff, or dead-letter it after the last
  attempt. Fenced like complete: a delivery this worker no longer owns is refused, and a
  superseded generation is acked without a retry, a dead letter or any state (as is a run whose
  key state is not a hash: it reads as none, and is left as it is). A keyed run whose delivery is
  in no pending list, its stream deleted under it, is still this worker's while its key state
  records it running here (recordsRunHere, as in complete.lua), also when its id holds another
  task since (a stream made anew: includes/stranded-settle.lua), whose entry it leaves unacked,
  undeleted and not copied into a dead letter.

  KEYS[1] stream
  KEYS[2] delayed set
  KEYS[3] dead-letter stream
  KEYS[4] result key
  KEYS[5] key state hash (keyed runs only)
  KEYS[6] the queue's sequence (keyed runs only: a periodic successor's generation)
  KEYS[last 11] the partition's flow keys (see includes/flow.lua), for a run under flow control
          (field fl): its slots are released, which feeds waiting tasks

  ARGV[1]  consumer group
  ARGV[2]  consumer (this worker)
  ARGV[3]  done channel: told 'f:<id>' when the task is dead-lettered, 's:<id>' or 'x:<id>'
           when its generation lost to a replace or cancel
  ARGV[4]  key state TTL in ms
  ARGV[5]  stream entry id
  ARGV[6]  retry delay in ms, or -1 to dead-letter now
  ARGV[7]  result TTL in ms (0 = not stored)
  ARGV[8]  encoded failure result
  ARGV[9]  dead-letter reason
  ARGV[10] dead-letter stream max length (approximate)
  ARGV[11] a periodic run's successor as JSON (see includes/successor.lua), else '': the
           next slot is scheduled even when this run is dead-lettered
  ARGV[12..] the task's fields (id, n, p, a, and k, g, d, r, t, fl, gr, pr when present: see
             includes/message.lua) as name/value pairs, with `a` already the next attempt

  A keyed retry's state says delayed, with its member, attempt and due time (dueAt, as status()
  reads it: it kept the enqueue's, long past, for the whole backoff).
  A retry of a task without a key carries field r (its result is kept, even a void one) and
  leaves the pending marker {"ok":null} under its result key, so result() knows it is not
  settled yet (the marker expires a day after the retry is due, should the task vanish).

  A flow run's retry releases its slots too and goes back through admission when due (see
  promote.lua): it waits for a slot again without spending an attempt, and a run that fails
  never keeps a slot through its backoff.

  Returns 1 retry scheduled, 2 dead-lettered, 0 superseded, -1 refused, -2 already settled.
  Atomic: checks, ack and the retry or dead letter are one step, so a failure is never lost
  between the ack and the reschedule. Everything that can fail (the dead-letter entry of a
  hostile message with thousands of fields) is computed before the first write, and a flow key
  of another type (includes/flow.lua) refuses the call, WRONGTYPE naming the key, before it; so
  do a delayed set (a retry, a periodic successor) and a dead-letter stream (a dead letter) of
  another type (includes/key-type.lua), and a sequence INCR refuses (or whose draw would pass
  2^53-1) when a successor's generation is to be drawn (sequenceCheck, includes/key-state.lua): the run stays pending, its settle
  retried by its worker. Its notice goes after those checks and before the writes (a done
  channel an ACL refuses refuses the settle there, nothing written); the retry's sends none.
  A dead letter is the first write, before the ack, and its notice 'f' right after it (the
  channel asked first: noticeCheck, includes/notice-check.lua): a dead-letter stream out of ids
  (its last id the largest there is: XSETID) refuses it there, the run still pending, its
  waiters told nothing. The plain hot path (a retry) is unchanged.
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
-- @include stranded-settle
-- @include key-type
-- @include notice-check

local stream, delayed, dlq, resultKey, keyState, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local PENDING_MARKER, MARKER_SLACK_MS = '{"ok":null}', 86400000
local group, consumer, channel, stateTtl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local entryId, retryDelay, resultTtl = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local fields = {}
for i = 12, #ARGV do fields[#fields + 1] = ARGV[i] end
local task = {}
for i = 1, #fields, 2 do task[fields[i]] = fields[i + 1] end
-- KEYS[5] and KEYS[6] are a keyed run's; an unkeyed flow run's KEYS go on with its flow keys.
if not task.k then keyState, seq = nil, nil end

-- Its entry is its own to ack and delete (and to copy into a dead letter), unless it is stranded
-- here and its id holds another task since (strandedSettle): that one is left as it is.
local own = true
if not ownedBy(stream, group, entryId, consumer) then
  local holder = pendingOwner(stream, group, entryId)
  local stranded = false
  if keyState then stranded, own = strandedSettle(stream, keyState, entryId, task.id, consumer, holder) end
  if not stranded then return holder and -1 or -2 end
end
-- A flow key of another type refuses the settle before its first write (includes/flow.lua).
if task.fl == '1' and task.id and #KEYS >= 4 + FLOW_KEY_COUNT then
  flowCheckSettle(flowKeysAtEnd())
end
-- A key state that is not a hash reads as none (the run is stale), read before any write.
local foreign = keyState and notAHash(keyState)
local stale = not foreign and keyState and isStale(keyState, tonumber(task.g), task.id)
-- The entry as written (binary-safe, every field): what a dead letter keeps.
local written = retryDelay < 0 and own and rcall('XRANGE', stream, entryId, entryId)[1]
local deadFields = retryDelay < 0 and deadLetterFields(written and entryFields(written[2]) or fields, ARGV[9], entryId)
-- What the retry or the dead letter writes after the ack, its type read first: a delayed set or
-- dead-letter stream of another type refuses the settle here, the run still pending.
-- So does a sequence INCR refuses, for a successor's generation (drawn after the dead letter).
if not (foreign or stale) then
  if retryDelay >= 0 or (keyState and ARGV[11] ~= '') then keyCheckType(delayed, 'delayed set', 'zset') end
  if retryDelay < 0 then keyCheckType(dlq, 'dead-letter stream', 'stream') end
  if retryDelay < 0 and keyState and ARGV[11] ~= '' then sequenceCheck(seq, 1) end
end
-- The notice, before the writes it announces (a subscriber acts on it only once the script is
-- over): a done channel an ACL refuses fails the settle here, nothing written, where it failed
-- it after the ack and the dead letter (waiters never told, the caller's retry found it settled).
if foreign then
  rcall('PUBLISH', channel, 's:' .. task.id)
elseif stale then
  rcall('PUBLISH', channel, staleToken(keyState, task.id))
end
-- The dead letter, the first write: a dead-letter stream that takes no id (its last id the
-- largest there is, which anyone can XSETID) refuses it, with no type or cheap read to tell,
-- and refused after the ack and XDEL below it lost the run. Refused here, the run stays pending,
-- its settle retried. Its notice 'f' follows it: sent first, every refused retry told the
-- waiters the run failed for good (result() rejected) while it was still pending. The channel
-- is asked first (noticeCheck, no command), so an ACL refusing it still refuses before a write.
local deadLettered = retryDelay < 0 and not (foreign or stale)
if deadLettered then
  noticeCheck(channel)
  rcall('XADD', dlq, 'MAXLEN', '~', ARGV[10], '*', unpack(deadFields))
  rcall('PUBLISH', channel, 'f:' .. task.id)
end
if own then
  rcall('XACK', stream, group, entryId)
  rcall('XDEL', stream, entryId)
end
if task.fl == '1' and #KEYS >= 4 + FLOW_KEY_COUNT then flowRelease(flowKeysAtEnd(), stream, task.id, entryId) end

if foreign then return 0 end
if stale then
  releaseKey(keyState, entryId, stateTtl)
  return 0
end

if retryDelay >= 0 then
  if not keyState then
    if not task.r then fields[#fields + 1] = 'r'; fields[#fields + 1] = '1' end
    rcall('SET', resultKey, PENDING_MARKER, 'PX', retryDelay + MARKER_SLACK_MS)
  end
  local member = encodeDelayed(fields)
  local retryDue = nowMs() + retryDelay
  rcall('ZADD', delayed, retryDue, member)
  if keyState then
    -- Its due time too: status() reads dueAt, which said the enqueue's (long past) in the backoff.
    rcall('HSET', keyState, 'state', 'delayed', 'dm', member, 'attempt', task.a, 'dueAt', retryDue)
    releaseKey(keyState, entryId, stateTtl)
  end
  return 1
end

if resultTtl > 0 then rcall('SET', resultKey, ARGV[8], 'PX', resultTtl) else rcall('DEL', resultKey) end
if keyState then endKeyedRun(keyState, delayed, seq, entryId, task.id, 'failed', ARGV[9], stateTtl, ARGV[11], nowMs()) end
return 2

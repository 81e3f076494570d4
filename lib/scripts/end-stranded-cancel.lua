--[[
  KEYS: the stranded cancels, stream, key state, a judged owner's liveness key (with ARGV[6]).
  ARGV: key, consumer group, key state TTL, done channel, control channel, judged owner.
  Judge one key of the partition's stranded cancels (see cancel.lua): a running run that a cancel
  (or the removal of a task queued behind it, remove-task.lua) left to its settle, either
  stranded by a purge then (only its owner can still settle it, strandedRunOwner) with the lease
  it was claimed under held, or with its delivery still standing (kept while it stands: its
  owner's settle or a reclaim's claim, stale by then, releases the key; stranded once its entry
  is deleted and the sweep drops the delivery). Once that lease lapsed (runLeaseHeld: the
  owner's liveness key expired, or holds another value since: it died before its settle) the run
  is ended as cancel.lua ends a gone one: its waiters told 'x:<id>', its worker told
  'cancelled:<gen>:<key>' (should it be alive after all: its late settle finds no running record
  and writes nothing), its running record dropped, its state left to expire (expireSettled), the
  key out of the set. A key a dead letter recorded (dead-letter.lua: its run, a replacement never
  claimed, ended the key 'failed' while the older run it replaced still ran) is judged the same
  way; ending that run tells its worker 'superseded:<gen>:<key>', as the replace() did, and the
  task the key's last cancel ended (xid) 'x:<id>', as for a cancelled state: that run when a
  cancel left it to its settle before the dead-lettered run was enqueued (its waiters told at
  that settle, which never comes; they waited for good), an earlier task otherwise, whose
  waiters, told already, read the same answer (the dead letter's task was told 'f:<id>' already).
  A run a replace() superseded before the cancel or the dead letter (its task id no longer the
  state's id, nor xid) has its own waiters told 's:<id>', as a result() asked later reads it, by
  its task id, field rtid (claim.lua writes it with the running record; read only when it names
  that delivery: runningTask in includes/key-state.lua): they heard nothing before, its task id
  in no field. Run by a worker's sweep (lib/consumer/
  stranded-cancels.ts), under the sweep lock, which correctness does not rest on: every call
  judges the key's state as it is.

  KEYS[1] the partition's stranded cancels (a set of keys)
  KEYS[2] stream
  KEYS[3] the key's state hash
  KEYS[4] the liveness key of the owner named by ARGV[6] (only with it)

  ARGV[1] key
  ARGV[2] consumer group: where the run's delivery is looked up
  ARGV[3] key state TTL in ms
  ARGV[4] done channel
  ARGV[5] control channel
  ARGV[6] the owner this call judges ('' or absent: none): the one a first call answered with
          code 3; its liveness key is KEYS[4]

  Returns 0 the key left the set with nothing to judge (its state is gone, not a hash, neither
  cancelled nor failed, or records no run: a settle released the key, or a later call moved it
  on; or the run names no owner), 1 kept (the lease holds, or the run's delivery stands: still, or again
  with an entry id reused by a new stream after the purge, judged once that goes), 2 ended,
  {3, owner} the owner must be judged (nothing written): the caller sends the call again with
  ARGV[6] and KEYS[4], whose name only the state knows. A second call finding another owner
  answers {3, ...} again, and is left to the next sweep.
  Atomic: the judgement and the end are one step. Reads (the set's type, the state, the
  delivery, the lease) come before the notices, and the notices before the writes: a set of
  another type refuses with WRONGTYPE and nothing written, a channel an ACL refuses with the key
  still in the set, to be judged again.
]]
-- @include rcall
-- @include key-state
-- @include stranded-run

local set, stream, keyState = KEYS[1], KEYS[2], KEYS[3]
local key, group, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local judged = ARGV[6] or ''
local alive = judged ~= '' and KEYS[4] or nil

rcall('SISMEMBER', set, key)
local function leave(code)
  rcall('SREM', set, key)
  return code
end
if notAHash(keyState) then return leave(0) end
local state, rown = unpack(rcall('HMGET', keyState, 'state', 'rown'))
if (state ~= 'cancelled' and state ~= 'failed') or not rown or rown == '' then return leave(0) end
if rcall('HEXISTS', keyState, 'rmid') == 0 then return leave(0) end
local owner = strandedRunOwner(stream, group, keyState)
if not owner then return 1 end
if owner ~= judged or not alive then return {3, owner} end
if runLeaseHeld(keyState, alive) then return 1 end

local gen, xid, id, rtid, rmid = unpack(rcall('HMGET', keyState, 'gen', 'xid', 'id', 'rtid', 'rmid'))
local runningId = runningTask(rtid, rmid)
-- xid names a cancelled task (redrive.lua drops it when it runs that task again): telling it is
-- true whether it is this run (cancelled, then its key's next run dead-lettered) or not.
if xid and xid ~= '' then rcall('PUBLISH', ARGV[4], 'x:' .. xid) end
-- A run the state's task (id) replaced is superseded, unless it is the one cancelled (told above).
if runningId and runningId ~= id and runningId ~= xid then
  rcall('PUBLISH', ARGV[4], 's:' .. runningId)
end
if gen then rcall('PUBLISH', ARGV[5], (state == 'cancelled' and 'cancelled:' or 'superseded:') .. gen .. ':' .. key) end
rcall('HDEL', keyState, 'rmid', 'rown', 'fence', 'rliv', 'rtid')
expireSettled(keyState, ttl)
return leave(2)

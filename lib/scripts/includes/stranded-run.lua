-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments. What is left of a key's running run
-- whose delivery went with its stream (an operator's DEL or FLUSH of the stream) or its entry.
-- The lease a run was claimed under: field rliv of the key state (claim.lua writes it with rmid,
-- rown and fence), the value its owner's liveness key held then.
-- @include rcall
-- @include entry-id

-- runPending(stream, group, rmid): whether a running run's delivery (field rmid) is in the
-- group's pending list. One that is no entry id (anyone can write the state) names none, and a
-- stream or group that is gone (XPENDING's NOGROUP: deleted under the run) holds none. Any other
-- error (an ACL refusing XPENDING) answers nil and the error: its caller decides.
local function runPending(stream, group, rmid)
  if not rmid or not isEntryId(rmid) then return false end
  local ok, rows = pcall(rcall, 'XPENDING', stream, group, rmid, rmid, '1')
  if ok then return rows[1] ~= nil end
  local text = type(rows) == 'table' and rows.err or tostring(rows)
  if string.find(text, 'NOGROUP', 1, true) then return false end
  return nil, rows
end

-- deliveryGone(stream, group, keyState): the key's run is running (state 'running') but no
-- consumer of `group` holds its delivery: the queue's stream, its group or the entry itself was
-- deleted while it ran (a purge: a DEL of the stream; an XDEL of the entry while its worker was
-- dead, which the sweep then drops). Its settle finds nothing pending and writes nothing, so its
-- state says 'running' for good. (claim.lua holds a later run of the key back behind such a run
-- while the lease it was claimed under holds: strandedRunOwner, runLeaseHeld.) An error other
-- than a missing stream or group is raised, before the caller writes.
local function deliveryGone(stream, group, keyState)
  local pending, failure = runPending(stream, group, rcall('HGET', keyState, 'rmid'))
  if pending == nil then error(failure) end
  return not pending
end

-- strandedRunOwner(stream, group, keyState): the owner (field rown) of the key's running run
-- when that run has nothing left in the group but its owner: its delivery is in no pending list
-- (runPending; one it cannot tell is judged the same way: by the owner's lease), or its entry is
-- gone from the stream (an XDEL, an XTRIM), so no reclaim will ever run it again. Only its
-- owner's handler can still end it. nil while the delivery stands, and for a state without those
-- fields (nothing to judge by; an empty owner, which anyone can write, names none: a caller
-- judging it judges no one). Call it only for a state that says running.
local function strandedRunOwner(stream, group, keyState)
  local rmid, rown = unpack(rcall('HMGET', keyState, 'rmid', 'rown'))
  if not rmid or not rown or rown == '' then return nil end
  if runPending(stream, group, rmid) and rcall('XRANGE', stream, rmid, rmid)[1] then return nil end
  return rown
end

-- runLeaseHeld(keyState, alive): whether the owner of the key's stranded run (strandedRunOwner)
-- still holds the lease it ran it under, `alive` being that owner's liveness key: the key exists
-- and holds the value the run was claimed under (field rliv). A key gone is a lapse (presumed
-- dead, as reclaim.lua presumes it). A key holding another value lapsed since and was taken
-- again (the heartbeat writes a key it finds gone with a value the key never held, see
-- heartbeat-thread.js): that lapse aborted the run (LeaseLostError) and left it unsettled, so
-- it is judged as it was during the lapse (a handler that returned anyway still settles it while
-- no newer generation supersedes it, and is fenced by one, as a dead owner's late settle is).
-- A state without the field (claimed by a worker of an earlier version), or a key
-- that cannot be read (not a string: anyone can write it), is judged by the key's existence.
local function runLeaseHeld(keyState, alive)
  local ok, value = pcall(rcall, 'GET', alive)
  if not ok then return true end
  if not value then return false end
  local claimed = rcall('HGET', keyState, 'rliv')
  return not claimed or claimed == value
end

-- leaseValue(alive): what a claim records as the lease it runs a keyed run under (field rliv):
-- the value of the claiming worker's own liveness key `alive`; '' when it is gone (a lapse: the
-- run will not start, its worker no longer proving it its own), nil when it cannot be read (not
-- a string): no value is recorded then, and the run is judged by the key's existence. claim.lua
-- records it only when it is the value its worker passed as known to be its own (a value the
-- heartbeat wrote after a lapse, its reply not yet back, would be taken for the worker's lease
-- though the lapse kept the run from starting).
local function leaseValue(alive)
  local ok, value = pcall(rcall, 'GET', alive)
  if not ok then return nil end
  return value or ''
end

-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments.
-- @include rcall
-- @include entry-id

-- strandedRunOwner(stream, group, keyState): the owner (field rown) of the key's running run
-- (field rmid, its delivery) when that run has nothing left in the group but its owner: its
-- delivery is in no pending list (the stream, or its group, was deleted under it: an
-- operator's DEL or FLUSH of the stream), or its entry is gone from the stream (an XDEL, an
-- XTRIM), so no reclaim will ever run it again. Only its owner's handler can still end it.
-- nil while the delivery stands, and for a state without those fields (nothing to judge by;
-- an empty owner, which anyone can write, names none: a caller judging it judges no one).
-- Call it only for a state that says running.
local function strandedRunOwner(stream, group, keyState)
  local rmid, rown = unpack(rcall('HMGET', keyState, 'rmid', 'rown'))
  if not rmid or not rown or rown == '' then return nil end
  -- One that is no entry id (anyone can write the state) names no delivery.
  if isEntryId(rmid) then
    -- XPENDING fails on a stream or group that no longer exists: the delivery is gone with it.
    local ok, rows = pcall(rcall, 'XPENDING', stream, group, rmid, rmid, '1')
    if ok and rows[1] and rcall('XRANGE', stream, rmid, rmid)[1] then return nil end
  end
  return rown
end

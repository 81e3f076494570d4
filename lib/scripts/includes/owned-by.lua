-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments.
-- @include rcall
-- ownedBy(stream, group, entryId, consumer): true when the entry sits in the group's pending
-- list under `consumer`. This is the fence: XACK acts for the whole group, so every ack is
-- preceded by this check inside the same script.
local function ownedBy(stream, group, entryId, consumer)
  return rcall('XPENDING', stream, group, entryId, entryId, '1', consumer)[1] ~= nil
end

-- pendingOwner(stream, group, entryId): the consumer holding the entry, or nil when no one does.
local function pendingOwner(stream, group, entryId)
  local row = rcall('XPENDING', stream, group, entryId, entryId, '1')[1]
  if row then return row[2] end
  return nil
end

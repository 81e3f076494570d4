-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments.
-- @include rcall
-- @include key-state
-- @include run-entry

-- strandedSettle(stream, keyState, entryId, taskId, consumer, holder): whether a keyed run's
-- settle whose delivery is not pending under `consumer` (`holder`: who holds its id, or nil) is
-- still this worker's, and whether the entry at its id is the run's own (to delete). Its
-- delivery went with its stream (an operator's DEL) while the key state records it running here
-- (recordsRunHere): no one took it over nor settled it. A stream made anew numbers its entries
-- from Redis's clock alone, so the purged id may hold another task now, pending elsewhere or
-- not read yet: that delivery is no takeover of this one (a takeover holds this task's entry),
-- and that entry is not this run's to delete or ack. One XRANGE, on this path only: a settle of
-- a delivery it owns (nearly all) reads nothing more.
local function strandedSettle(stream, keyState, entryId, taskId, consumer, holder)
  local entry = rcall('XRANGE', stream, entryId, entryId)[1]
  local own = entry ~= nil and entryTaskId(entry) == taskId
  if holder and not (entry and not own) then return false, false end
  return recordsRunHere(keyState, entryId, consumer), own
end

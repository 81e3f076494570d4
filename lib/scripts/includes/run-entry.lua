-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments.
-- @include rcall
-- @include message
-- @include entry-id

-- entryTaskId(entry): the task id an XRANGE entry names (field id, a packed entry's unpacked:
-- includes/message.lua), or nil when it names none.
local function entryTaskId(entry)
  local fields = entryFields(entry[2])
  for i = 1, #fields - 1, 2 do
    if fields[i] == 'id' then return fields[i + 1] end
  end
  return nil
end

-- runEntry(stream, entryId, taskId): the stream entry at `entryId` (a key state's mid, its
-- queued run) when it holds task `taskId` (its field id, a packed entry's unpacked), else nil.
-- Redis numbers a stream made anew from its clock alone: after a DEL of the stream (an
-- operator's purge), an entry added in the millisecond of a purged one, or after the clock went
-- back, takes that one's id, and the key state still names it. Deleting the entry there
-- deleted an unrelated task, or the key's own new run. An id that is no entry id (anyone can
-- write the state) names none. A state without a task id (a run from before generations)
-- cannot tell: any entry there is taken for its run, as before. One XRANGE, which a stream of
-- another type refuses (WRONGTYPE), as the XLEN read before a write does.
local function runEntry(stream, entryId, taskId)
  if not isEntryId(entryId) then
    rcall('XLEN', stream)
    return nil
  end
  local entry = rcall('XRANGE', stream, entryId, entryId)[1]
  if not entry or not taskId then return entry end
  return entryTaskId(entry) == taskId and entry or nil
end

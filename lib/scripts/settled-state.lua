--[[
  Read where one task stands, in one step: for a handle's status() and result() (see
  settled-state.ts, which reads the reply). KEYS: result key, stream, key state or flow task
  records. ARGV: group, most groups, task id, entry id, what KEYS[3] is (details below).
  KEYS[1] the task's result key
  KEYS[2] stream
  KEYS[3] its key state hash (a keyed task), else the flow task records (an unkeyed task: a
          task that waited for a slot from its enqueue is read there; so is one whose entry is
          gone or acked with nothing stored, below), else absent (ARGV[5] '')
  ARGV[1] consumer group
  ARGV[2] the most consumer groups the stream may have when the entry's standing needs the
          group's read position: past it, error 'GROUPS <count>' (includes/group-row.lua)
  ARGV[3] the task id
  ARGV[4] its stream entry id ('' none)
  ARGV[5] what KEYS[3] is: 'key', 'waited', 'entry' (the flow task records of an unkeyed task
          whose handle knows its entry) or ''

  Returns {stored result (nil: none), key state {state, id, error, xid, sid} (nil: none read, or
  the state is not a hash: it reads as none, as the settle scripts read it), its
  flow record (1 held, 0 gone, -1 not read), its entry (-1 not read, 0 gone: none at its id,
  or one of another task, which took the id of a purged entry, see includes/run-entry.lua; 1
  delivered and pending, 2 not read by the group yet, 3 read and acked, awaiting its trim)}. Each later part
  is read only when the earlier ones leave the state open (settled-state.ts's order): a task
  whose result is stored needs no group; a keyed task whose stored result is the pending marker
  (a redrive's, {"ok":null}) has its key state read too, the two returned together when it names
  a run; with none, the marker is not returned and the entry is read (a live redriven run holds
  its key state, so the run ended unsettled: cancelled or replaced, its state gone since).
  Writes nothing. A flow:tasks of another type fails the read of a task that waited with
  WRONGTYPE naming the key (includes/flow-key-type.lua).
  An unkeyed task's entry gone (or acked) with nothing stored reads as its flow record held
  (1) while flow:tasks holds its id: a later run of it (a retry, a redrive, a plain entry moved
  into admission) waits in the room, holds its slot or runs under that record for as long as
  it does, where the pending marker such a run leaves expires a day on (so a task that vanishes
  leaves nothing for good), and the entry then read completed though the task had not run.
  Otherwise (or a flow:tasks of another type, read as none there) the entry answers. One
  HEXISTS, on that path alone.
  Atomic: one snapshot. A result is written, or the entry deleted, in the same script that
  settles the run, so the snapshot never sees a half-settled task.
]]
-- @include rcall
-- @include key-state
-- @include group-row
-- @include entry-id
-- @include flow-key-type
-- @include run-entry

local resultKey, stream, group, limit = KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2])
local taskId, entryId, third = ARGV[3], ARGV[4], ARGV[5]
local PENDING_MARKER = '{"ok":null}'
local stored = rcall('GET', resultKey)
-- A keyed task's pending marker (a redrive's) is read with its key state, which tells whether
-- that run still waits or was cancelled or superseded since (neither touches the marker).
local keyedMarker = stored == PENDING_MARKER and third == 'key'
if stored and not keyedMarker then return {stored, false, -1, -1} end
local keyFields = false
-- A key state that is not a hash (`SET <key state> x`) reads as none (notAHash).
if third == 'key' and not notAHash(KEYS[3]) then
  keyFields = rcall('HMGET', KEYS[3], 'state', 'id', 'error', 'xid', 'sid')
  -- A state naming no run ('' or absent: anyone can write it) leaves the entry to answer.
  if (keyFields[1] or '') ~= '' and (keyFields[2] or '') ~= '' then return {stored, keyFields, -1, -1} end
end
-- Past that, a keyed task's marker tells nothing: its redriven run, while live, holds its key
-- state (no TTL), so one gone means that run ended without settling (cancelled, or replaced,
-- and the state expired or went with resultTtlMs 0). The entry answers, as with no marker.
-- flow:tasks of another type fails the read naming the key, as the flow scripts do (flowRead).
if third == 'waited' then return {false, keyFields, flowRead('hash', 'HEXISTS', KEYS[3], taskId), -1} end
if entryId == '' then return {false, keyFields, -1, -1} end

local GONE, RUNNING, QUEUED, ACKED = 0, 1, 2, 3
-- The entry it was enqueued under has settled: a later run of it under flow control holds its
-- record in flow:tasks (see the header); one of another type reads as none here.
local function settledEntry(standing)
  if third == 'entry' then
    local ok, held = pcall(rcall, 'HEXISTS', KEYS[3], taskId)
    if ok and held == 1 then return {false, keyFields, 1, standing} end
  end
  return {false, keyFields, -1, standing}
end
-- An entry at its id holding another task is gone too: a stream made anew after a DEL (an
-- operator's purge) numbers its entries from Redis's clock alone, so a task enqueued in the
-- purged entry's millisecond (or after the clock went back) takes its id (runEntry).
local entry = runEntry(stream, entryId, taskId)
if not entry then return settledEntry(GONE) end
local g, refusal = groupRow(stream, group, limit)
if refusal then return refusal end
-- Without the group no worker has started: nothing read it.
if not g then return {false, keyFields, -1, QUEUED} end
if rcall('XPENDING', stream, group, entry[1], entry[1], '1')[1] then return {false, keyFields, -1, RUNNING} end
if idGreater(entry[1], g['last-delivered-id']) then return {false, keyFields, -1, QUEUED} end
return settledEntry(ACKED)

--[[
  KEYS: stream, result key, the partition's flow keys, layout record. ARGV: consumer group,
  consumer, entry id, task id, limits, partition count (details below).
  Move a read entry of a task with a concurrency limit that was enqueued the plain way (no field
  fl: a producer without the task's @Task definition cannot know its limits) into admission,
  instead of running it: the worker's safety net, so no enqueuer runs a task outside its limits.
  KEYS[1] stream
  KEYS[2] result key of the task
  KEYS[3..13] the partition's flow keys (see includes/flow.lua)
  KEYS[14] the partition's layout record (see layout.lua)
  ARGV[1] consumer group; ARGV[2] consumer (who read the entry); ARGV[3] stream entry id;
  ARGV[4] task id (the result key was derived from it); ARGV[5] the task's limits as
  '<global> <group> <aging ms> <max> <perMs> <group max> <group perMs>' (as enqueue-flow.lua's
  ARGV[8]), recorded for the scripts that admit later
  ARGV[6] the queue's partition count as the worker maps it: the ungrouped group's partition
          (partitionOfGroup) and this partition's share of the task's own limits (flow-limits.ts)
          depend on it, so a worker still running with an old count (its keyed and flow
          enqueues refused) must not admit an entry where the stored count does not route its
          group, nor under another count's share; a plain unkeyed entry in partition 0 is
          written unchecked

  Returns {code, new stream entry id ('' when it waits in the room)}: 1 moved; 0 not this
  consumer's entry any more (reclaimed meanwhile, settled, gone): nothing written; -1 not one to
  move (a field fl or k, another task id, a missing field; or an id or name a worker would not
  take, includes/task-text.lua, which its worker's parse dead-letters first): nothing written,
  it runs as read; -2 the layout record (second value: it, no record read as '1') is not ARGV[6]
  (another count, or a switch in progress): nothing written, the worker dead-letters the entry.
  No record under an ARGV[6] above 1 is a record Redis lost, not a change to 1: the move goes on.
  Atomic: the ownership check, the XACK and XDEL of the entry and its admission are one step, so
  the task is neither lost nor in the stream twice. The admission comes first, the entry's ack
  and delete after it: a stream out of ids (its last id the largest there is: XSETID) refuses
  an admission at once at its XADD, the entry still pending. A flow key of another type (includes/flow.lua)
  refuses the move, WRONGTYPE naming the key, before any write: the entry stays pending. It
  keeps its id and attempt: reading it was not an attempt. It enters the ungrouped group at priority 5, as an enqueue without options, and
  keeps no field gr or pr of the entry (its admitted entry and its retry are ungrouped too). It is
  ranked from its enqueue (the XADD that wrote it: its entry id's time, never later than now),
  not from this move, which waits for a worker's read (a pause, a backlog in the stream).
]]
-- @include rcall
-- @include now-ms
-- @include owned-by
-- @include dead-letter-entry
-- @include message
-- @include task-text
-- @include flow
-- @include layout-guard

local stream, resultKey = KEYS[1], KEYS[2]
local F = flowKeys(3)
local group, consumer, entryId, taskId, limits, count = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local PENDING_MARKER, MARKER_TTL_MS = '{"ok":null}', 86400000

if not ownedBy(stream, group, entryId, consumer) then return {0, ''} end
local entry = rcall('XRANGE', stream, entryId, entryId)[1]
if not entry then return {0, ''} end
local fields = entryFields(entry[2])
local m = {}
for _, name in ipairs(TASK_FIELDS) do
  m[name] = fieldOf(fields, name)
end
if m.fl or m.k or m.id ~= taskId or not m.n or not m.p then return {-1, ''} end
-- Anyone can XADD: the room takes no id or name its queued listing cannot page over.
if not isRoomTaskText(m.id, m.n, '') then return {-1, ''} end
-- Admitted under a stale count, its ungrouped group would be counted here apart from its runs in
-- the partition the stored count routes it to, or under another count's share of its limits.
-- A record Redis lost is the worker's count (workerCountHolds): lost-layouts.ts records it again
-- once the queue's partitions are empty, and this very entry would keep them from being so.
local record = rcall('GET', KEYS[14])
if not workerCountHolds(record, count) then return {-2, record} end
m.a = m.a or '1'
m.fl = '1'
-- It waits ungrouped at priority 5: a group or priority of its own (only a hand-written entry has
-- them) would show it elsewhere in the listing, and send its retry to another group's line.
m.gr, m.pr = nil, nil
-- Its handle knows this entry id, gone now: the marker says "not settled yet" to status() and
-- result(), and r keeps its result even when void (as a retry's does).
m.r = '1'

-- A flow key of another type refuses the move before its first write (includes/flow.lua): the
-- entry stays pending, read again later.
flowCheckKeys(F)
-- Its enqueue time is its entry id's (Redis's clock at the XADD); an id a producer chose itself
-- may lie ahead of the clock, and is taken as now.
local now = nowMs()
local enqueuedAt = math.min(tonumber(string.match(entryId, '^(%d+)')) or now, now)
local function enter() return flowEnter(F, stream, m.id, m.n, '', 5, toFields(m), enqueuedAt) end
local newEntryId
if pairWaits(F, m.n .. '\0') then
  -- Tasks of its pair wait, maybe enqueued after it: it joins them (under the recorded limits it
  -- waits, as its pair does) before a change of limits is fed, so what a raise frees goes by
  -- rank with it among them.
  newEntryId = enter()
  if flowSetLimits(F, m.n, limits) then
    flowFeedAll(F, stream, 1000, m.n)
    local state = rcall('HGET', F.tasks, m.id)
    if state and string.byte(state, 1) ~= 0 then newEntryId = string.sub(state, 1, string.find(state, '\0', 1, true) - 1) end
  end
else
  -- Nothing of its pair waits: a raise first serves the pairs that do (they waited longer).
  if flowSetLimits(F, m.n, limits) then flowFeedAll(F, stream, 1000, m.n) end
  newEntryId = enter()
end
-- The entry goes once the task is in admission: a stream out of ids (its last id the largest
-- there is, which anyone with Redis access can XSETID) refuses the admission's XADD, and refused
-- after the ack and delete the task was gone from the stream and in no room. Refused now, the
-- entry stays pending, read again later.
rcall('XACK', stream, group, entryId)
rcall('XDEL', stream, entryId)
if rcall('EXISTS', resultKey) == 0 then rcall('SET', resultKey, PENDING_MARKER, 'PX', MARKER_TTL_MS) end
return {1, newEntryId}

--[[
  KEYS: stream, delayed set, the partition's flow keys, layout record. ARGV: task id, name,
  payload, delay, due time, group, priority, limits, control channel, trace context, partition
  count (details below).
  Enqueue one task under flow control (a task with a concurrency limit, or an enqueue that
  names a group or a priority; docs/design/flow-control.md): it is admitted into the stream,
  holding its slots, when they are free and nothing of its (task, group) waits; otherwise it
  waits in the room until a settle releases a slot. Due later, it waits in the delayed set and
  goes through admission when promote.lua moves it.

  KEYS[1] stream
  KEYS[2] delayed set
  KEYS[3..13] the partition's flow keys (see includes/flow.lua)
  KEYS[14] the partition's layout record (see layout.lua)

  ARGV[1]  task id
  ARGV[2]  task name
  ARGV[3]  payload (JSON)
  ARGV[4]  delay in ms from Redis's clock (0 = now)
  ARGV[5]  due time in epoch ms (0 = use the delay): runAt
  ARGV[6]  group ('' = the ungrouped group)
  ARGV[7]  priority 1..10 ('' = not given: 5)
  ARGV[8]  the task's limits as '<global> <group> <aging ms> <max> <perMs> <group max> <group
           perMs>' (0 = none; the last four are the rate limits), recorded for the scripts
           that admit later; '' = not known to the caller (keeps the recorded ones)
  ARGV[9]  control channel: told 'due' when a delayed task becomes the earliest due
  ARGV[10] trace context for field t ('' = none)
  ARGV[11] the queue's partition count as the caller maps it: a layout record that says otherwise
           (another count, or a switch in progress) refuses the call, error 'LAYOUT <stored>
           <count>' (includes/layout-guard.lua), nothing written. Every partition checks, 0
           too: a group's partition depends on the count, so a stale producer would put a
           group's task beside none of its runs, outside its limit.

  Returns {task id, 0, 1, stream entry id ('' when waiting or delayed), name, 'w' when it waits
  in the room}, the shape of enqueue.lua's reply and one more value; {task id, 0, -1, '', name}
  refused, nothing written: an id, name or group a worker would not take (includes/task-text.lua;
  the client checks the name and the group before, and draws the id); the LAYOUT error above.
  A task that waits keeps no
  void result (its handle reads its end from flow:tasks, see settled-state.ts); a delayed one
  does (field r): the handle cannot tell when it enters the room.
  Atomic: the slot check, the slot taken and the append (or the wait) are one step. A flow key of
  another type (includes/flow.lua), a stream key of another type, or a delayed set of another
  type when the task is delayed, refuses the enqueue (WRONGTYPE naming the key) before any
  write; so does a control channel an ACL refuses when the 'due' notice is sent (a rate
  window's wake goes unannounced instead, includes/rate.lua).
]]
-- @include rcall
-- @include now-ms
-- @include message
-- @include delayed
-- @include task-text
-- @include layout-guard
-- @include flow

local stream, delayed = KEYS[1], KEYS[2]
local F = flowKeys(3)
local id, name, payload, group, priority = ARGV[1], ARGV[2], ARGV[3], ARGV[6], ARGV[7]
-- A producer of another count (or during a switch) writes nothing: see ARGV[11].
local refused = layoutRefusal(KEYS[14], ARGV[11])
if refused then return refused end
-- The room takes no task its queued listing cannot page over, now or at its promotion.
if not isRoomTaskText(id, name, group) then return {id, 0, -1, '', name} end
-- A flow key of another type refuses the enqueue before its first write (includes/flow.lua).
flowCheckKeys(F)
local now = nowMs()
local due = tonumber(ARGV[5])
if due == 0 then due = now + tonumber(ARGV[4]) end
-- So do the stream and the delayed set, and the notice to the workers: Redis does not roll a
-- script back, and the recorded limits, a feed of the room (a waiting task taken out of it) or
-- the task's wait come before their XADD or ZADD.
streamCheckType(stream)
if due > now and isEarliestBut(delayed, due) then rcall('PUBLISH', ARGV[9], 'due') end
if ARGV[8] ~= '' and flowSetLimits(F, name, ARGV[8]) then flowFeedAll(F, stream, 1000, name) end

local fields = {'id', id, 'n', name, 'p', payload, 'a', '1', 'fl', '1'}
if group ~= '' then fields[#fields + 1] = 'gr'; fields[#fields + 1] = group end
if priority ~= '' then fields[#fields + 1] = 'pr'; fields[#fields + 1] = priority end
if ARGV[10] and ARGV[10] ~= '' then fields[#fields + 1] = 't'; fields[#fields + 1] = ARGV[10] end

if due > now then
  -- Its entry id is not known to the caller: keep its result, even a void one, for result().
  fields[#fields + 1] = 'r'; fields[#fields + 1] = '1'
  rcall('ZADD', delayed, due, encodeDelayed(fields))
  return {id, 0, 1, '', name}
end
-- Waiting, its handle knows no entry id, and no result of its is kept when void: the reply says
-- it waits, and the handle reads it settled once its record in flow:tasks is gone.
local entryId = flowEnter(F, stream, id, name, group, priority, fields, now)
return {id, 0, 1, entryId, name, entryId == '' and 'w' or ''}

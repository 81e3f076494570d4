--[[
  KEYS: stream, the partition's flow keys. ARGV: (task name, limits) pairs.
  Records a worker's limits in one partition of their queue when it starts consuming, before its
  first read (queue-consumer.ts): a producer without the tasks' @Task definitions (an API
  service that enqueues with a group) records none, and a partition no enqueue of a process with
  them reached admitted every task with no limit. Then feeds what a raise frees, as an enqueue
  that records them does (enqueue-flow.lua).

  KEYS[1] stream (a raise admits waiting tasks into it)
  KEYS[2..12] the partition's flow keys (see includes/flow.lua)

  ARGV[1] a task name; ARGV[2] its limits as '<global> <group> <aging ms> <max> <perMs> <group
  max> <group perMs>' (0 = none; enqueue-flow.lua's ARGV[8]); ARGV[3] and ARGV[4] the next task's,
  and so on: a pair for each of the worker's limited tasks of the queue

  Returns how many waiting tasks the feeds admitted.
  Atomic: each task's limits are recorded and fed in one step with the others (flowSetLimits,
  flowFeedAll): changed while runs of the task are held, a task is marked CHANGED until none is,
  as at an enqueue. The last writer wins, as between enqueues: during a rolling deploy an old
  worker's start (or an old producer's enqueue) puts its limits back until the next writer of
  the new ones. A flow key or stream key of another type refuses the call (WRONGTYPE naming the
  key) before any write. It checks no layout record: limits are no task, a freeze ignores them,
  and a partition is frozen only while empty (nothing to feed); the worker starts after its
  process adopted its count (partition-layout.ts, at module init).
]]
-- @include rcall
-- @include now-ms
-- @include message
-- @include flow

local stream = KEYS[1]
local F = flowKeys(2)
-- The stream first: flowCheckKeys deletes an F.entered of another type once every flow key passed.
streamCheckType(stream)
flowCheckKeys(F)
local admitted = 0
for i = 1, #ARGV - 1, 2 do
  local name = ARGV[i]
  if flowSetLimits(F, name, ARGV[i + 1]) then admitted = admitted + flowFeedAll(F, stream, 1000, name) end
end
return admitted

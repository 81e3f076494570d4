--[[
  KEYS: stream, the partition's flow keys, layout record. ARGV: the worker's partition count,
  then (task name, limits) pairs.
  Records a worker's limits in one partition of their queue when it starts consuming, before its
  first read (queue-consumer.ts): a producer without the tasks' @Task definitions (an API
  service that enqueues with a group) records none, and a partition no enqueue of a process with
  them reached admitted every task with no limit. Then feeds what a raise frees, as an enqueue
  that records them does (enqueue-flow.lua).

  KEYS[1] stream (a raise admits waiting tasks into it)
  KEYS[2..12] the partition's flow keys (see includes/flow.lua)
  KEYS[13] the partition's layout record (see layout.lua)

  ARGV[1] the queue's partition count as the worker maps it: a task's limits here are this
          partition's share of its own limits under that count (flow-limits.ts), so a record that
          says another count refuses the call (a worker running on after a count change would
          record another count's share): error 'LAYOUT <stored> <count>'
          (includes/layout-guard.lua), nothing written. An absent record under a count above 1
          is one Redis lost, taken as the worker's count (as enter-admission.lua takes it)
  ARGV[2] a task name; ARGV[3] its limits as '<global> <group> <aging ms> <max> <perMs> <group
  max> <group perMs>' (0 = none; enqueue-flow.lua's ARGV[8]); ARGV[4] and ARGV[5] the next task's,
  and so on: a pair for each of the worker's limited tasks of the queue

  Returns how many waiting tasks the feeds admitted.
  Atomic: each task's limits are recorded and fed in one step with the others (flowSetLimits,
  flowFeedAll): changed while runs of the task are held, a task is marked CHANGED until none is,
  as at an enqueue. The last writer wins, as between enqueues: during a rolling deploy an old
  worker's start (or an old producer's enqueue) puts its limits back until the next writer of
  the new ones. A flow key or stream key of another type refuses the call (WRONGTYPE naming the
  key) before any write. At a worker's start its process has just adopted its count
  (partition-layout.ts, at module init), but another process may have frozen the record since
  (a count change, a lost record's restore): the worker records at a later sweep then, as it does
  for a record again (one a key of another type kept from its start) after a count change.
]]
-- @include rcall
-- @include now-ms
-- @include message
-- @include flow
-- @include layout-guard

local stream = KEYS[1]
local F = flowKeys(2)
local record = rcall('GET', KEYS[13])
if not workerCountHolds(record, ARGV[1]) then
  return redis.error_reply('LAYOUT ' .. record .. ' ' .. ARGV[1])
end
-- The stream first: flowCheckKeys deletes an F.entered of another type once every flow key passed.
streamCheckType(stream)
flowCheckKeys(F)
local admitted = 0
for i = 2, #ARGV - 1, 2 do
  local name = ARGV[i]
  if flowSetLimits(F, name, ARGV[i + 1]) then admitted = admitted + flowFeedAll(F, stream, 1000, name) end
end
return admitted

--[[
  KEYS: stream, delayed set. ARGV: control channel, then six values per task (details below).
  Enqueue many tasks without a key in one call: what enqueueMany sends for its unkeyed items, so
  a bulk enqueue costs one script call per batch instead of one per task. Keyed tasks go through
  enqueue.lua (they need dedupe and a generation).

  KEYS[1] stream
  KEYS[2] delayed set
  KEYS[3] the partition's layout record, given for partitions other than 0 (see layout.lua)

  ARGV[1] control channel, told when a delayed task becomes the earliest due
  ARGV[2] to ARGV[7], then the same six for each further task: task id, task name, payload
  (JSON), delay in ms from Redis's clock (0 = now), due time in epoch ms (0 = use the delay),
  trace context for field t ('' = none)
  ARGV[#ARGV] with KEYS[3]: the caller's partition count; a layout record that says otherwise
  refuses the call (error 'LAYOUT ...'): no task lands in a partition its workers may not read.

  Returns the stream entry id of each task, in order ('' for one that went to the delayed set).
  Atomic: the batch is written as a whole or not at all.
]]
-- @include rcall
-- @include now-ms
-- @include message
-- @include delayed
-- @include layout-guard

local stream, delayed = KEYS[1], KEYS[2]
local last = #ARGV
if KEYS[3] then
  local refused = layoutRefusal(KEYS[3], ARGV[last])
  if refused then return refused end
  last = last - 1
end
local now = nil
local ids = {}
for i = 2, last, 6 do
  local delayMs, due = tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4])
  local fields = {'id', ARGV[i], 'n', ARGV[i + 1], 'p', ARGV[i + 2], 'a', '1'}
  if ARGV[i + 5] ~= '' then fields[#fields + 1] = 't'; fields[#fields + 1] = ARGV[i + 5] end
  if delayMs > 0 or due > 0 then
    now = now or nowMs()
    if due == 0 then due = now + delayMs end
  end
  if due > 0 and due > now then
    -- Its entry id is not known to the caller: keep its result, even a void one, for result().
    fields[#fields + 1] = 'r'; fields[#fields + 1] = '1'
    addDelayed(delayed, due, encodeDelayed(fields), ARGV[1])
    ids[#ids + 1] = ''
  else
    ids[#ids + 1] = rcall('XADD', stream, '*', unpack(fields))
  end
end
return ids

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
  Atomic: the batch is written as a whole or not at all. Redis does not roll a script back, so
  whatever can refuse the call comes before its first write: the delayed set's read (WRONGTYPE)
  and the workers' notice (PUBLISH, a channel an ACL refuses), then the first XADD (a stream of
  another type, its last id used up); OOM refuses only a first write. Writing due and delayed
  tasks in turn let the second key refuse a call whose first tasks were written: enqueueMany()
  reported them not written (a resend ran them twice), group commit told a caller so.
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
-- Where each task goes first, writing nothing: due[i] is the due time of a delayed one.
local now = nil
local due, delayedAt = {}, {}
for i = 2, last, 6 do
  local delayMs, at = tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4])
  if delayMs > 0 or at > 0 then
    now = now or nowMs()
    if at == 0 then at = now + delayMs end
    if at > now then
      due[i] = at
      delayedAt[#delayedAt + 1] = i
    end
  end
end
local function fields(i)
  local f = {'id', ARGV[i], 'n', ARGV[i + 1], 'p', ARGV[i + 2], 'a', '1'}
  if ARGV[i + 5] ~= '' then f[#f + 1] = 't'; f[#f + 1] = ARGV[i + 5] end
  return f
end
-- Told before the writes (a subscriber reads the set once the script is over): see addDelayed.
if #delayedAt > 0 then
  local earliest = due[delayedAt[1]]
  for _, i in ipairs(delayedAt) do earliest = math.min(earliest, due[i]) end
  tellIfEarliest(delayed, earliest, ARGV[1])
end
local ids = {}
for i = 2, last, 6 do
  ids[#ids + 1] = due[i] and '' or rcall('XADD', stream, '*', unpack(fields(i)))
end
for _, i in ipairs(delayedAt) do
  -- Its entry id is not known to the caller: keep its result, even a void one, for result().
  local f = fields(i)
  f[#f + 1] = 'r'; f[#f + 1] = '1'
  rcall('ZADD', delayed, due[i], encodeDelayed(f))
end
return ids

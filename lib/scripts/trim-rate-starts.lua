--[[
  KEYS: the partition's flow keys. ARGV: a cursor and a page size (details below).
  Walk part of a partition's rate-limit starts set (includes/rate.lua's F.starts) and remove the
  start records that left their window. A window is trimmed when it is counted (rateCount), so
  the records of one never counted again (a group served once: a customer, a tenant) stayed for
  good, one or more per group ever rated. Workers call this from their sweep, a page at a time,
  carrying the cursor from call to call: every record is looked at once per pass.

  KEYS[1] .. KEYS[11] the partition's flow keys (see includes/flow.lua): it reads F.limits (each
            task's rates, as a feed reads them) and removes from F.starts, nothing else

  ARGV[1] cursor: the last member the previous call looked at, '' to start from the first
  ARGV[2] most members to look at

  A record goes when its time is at or before now - perMs of its window under the task's
  recorded rates (Redis's clock): what rateCount would trim, so no window counts differently.
  A record of a window its task no longer has (rates changed, or the task gone) goes once older
  than the longest window a limit can have. Markers and reservations (runs not started yet) and
  members of another form stay.

  Returns {records removed, the next cursor ('' once the walk reached the end)}.
  Atomic: the page's reads and removals are one step.
]]
-- @include rcall
-- @include now-ms
-- @include flow

local F = flowKeys(1)
local cursor, count = ARGV[1], tonumber(ARGV[2])
local from = cursor == '' and '-' or '(' .. cursor
local page = rcall('ZRANGEBYLEX', F.starts, from, '+', 'LIMIT', '0', count)
if #page == 0 then return {0, ''} end

local now = nowMs()
local stale = {}
for _, member in ipairs(page) do
  if rateRecordLeft(F, member, now) == true then stale[#stale + 1] = member end
end
for i = 1, #stale, 1000 do rcall('ZREM', F.starts, unpack(stale, i, math.min(i + 999, #stale))) end
return {#stale, #page < count and '' or page[#page]}

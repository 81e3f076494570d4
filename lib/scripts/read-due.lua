--[[
  KEYS: delayed set, [flow wake set]. ARGV: most members to return.
  Read the delayed tasks that are due by Redis's clock, without moving them: promote.lua moves
  them once the caller has declared the key states they touch. Also looks at flow control's
  wake set (rate limits, see includes/rate.lua): a due wake needs promote.lua too. Writes nothing.

  KEYS[1] delayed set
  KEYS[2] flow wake set (optional)

  ARGV[1] most members to return

  Returns {due members in due order, ms until the first member not returned or the first wake
  is due, 1 when a wake is due now (else 0)}: the ms are 0 when the batch is full (more may be
  due), -1 when no member and no wake is left.
  A wake set of another type fails the read with WRONGTYPE naming the key
  (includes/flow-key-type.lua).
  Atomic: one consistent read of the sets.
]]
-- @include rcall
-- @include now-ms
-- @include flow-key-type

local delayed, wake, limit = KEYS[1], KEYS[2], tonumber(ARGV[1])
local now = nowMs()
local due = rcall('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', '0', limit)
local wakeAt = wake and tonumber(flowRead('zset', 'ZRANGE', wake, '0', '0', 'WITHSCORES')[2])
local wakeDue = (wakeAt and wakeAt <= now) and 1 or 0
if #due >= limit then return {due, 0, wakeDue} end
local next = tonumber(rcall('ZRANGE', delayed, #due, #due, 'WITHSCORES')[2])
if wakeAt and (not next or wakeAt < next) then next = wakeAt end
return {due, next and math.max(0, next - now) or -1, wakeDue}

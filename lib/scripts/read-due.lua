--[[
  Read the delayed tasks that are due by Redis's clock, without moving them: promote.lua moves
  them once the caller has declared the key states they touch. Writes nothing.

  KEYS[1] delayed set

  ARGV[1] most members to return

  Returns {due members in due order, ms until the first member not returned is due}: 0 when the
  batch is full (more may be due), -1 when no member is left.
  Atomic: one consistent read of the set.
]]
-- @include rcall
-- @include now-ms

local delayed, limit = KEYS[1], tonumber(ARGV[1])
local now = nowMs()
local due = rcall('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, limit)
if #due >= limit then return {due, 0} end
local next = rcall('ZRANGE', delayed, #due, #due, 'WITHSCORES')[2]
return {due, next and math.max(0, tonumber(next) - now) or -1}

--[[
  Set or take out one events() subscriber's mark in the queue's watch, and tell the workers.

  KEYS[1] the queue's watch (sorted set: subscriber id -> when its mark lapses, Redis's clock, ms)
  KEYS[2] the watch key of subscribers of earlier versions (a string with a TTL), read only
  ARGV[1] the subscriber's id (drawn per subscription)
  ARGV[2] how long its mark lasts, in ms; '0' takes it out (the subscriber leaves)
  ARGV[3] the queue's control channel: told 'watch' when a mark is set (workers publish at once),
          'unwatch' when one taken out leaves none alive (workers ask again at once, and stop)
  ARGV[4] how far ahead a mark may lapse, in ms (twice the longest one): one further is pruned

  The watch's TTL is its latest mark's, so it exists while a mark is alive: workers ask EXISTS.
  Returns the number of marks alive after the call.
  A key of another type at KEYS[1] is deleted first (the watch is the module's own key).
  Atomic: the lapsed (or too distant) marks pruned, the mark set or taken out, the TTL set from
  the latest mark and the notice are one step, so no worker reads the watch in between, and no
  'unwatch' goes out while another subscriber's mark is alive.
]]
-- @include rcall
-- @include now-ms

local watch = KEYS[1]
local now = nowMs()
local ttl = tonumber(ARGV[2])
-- A key of another type in its place (anyone can write one) is taken back, as earlier versions'
-- SET did: left, it failed every mark's write and, existing, kept the workers publishing for good.
local kind = rcall('TYPE', watch).ok
if kind ~= 'zset' and kind ~= 'none' then rcall('DEL', watch) end
-- Marks of subscribers gone without leaving (a process killed) lapse here; so do marks lapsing
-- further ahead than any subscriber sets one (set before Redis's clock went far back, or written
-- by anyone): kept, they held the watch and the workers' events for as long, and one at +inf
-- made the PEXPIRE below negative, deleting every live mark with the watch.
local function prune(from, to)
  for _, id in ipairs(rcall('ZRANGEBYSCORE', watch, from, to)) do
    rcall('ZREM', watch, id)
  end
end
prune('-inf', '(' .. string.format('%d', now))
prune('(' .. string.format('%d', now + tonumber(ARGV[4])), '+inf')
if ttl > 0 then
  rcall('ZADD', watch, string.format('%d', now + ttl), ARGV[1])
else
  rcall('ZREM', watch, ARGV[1])
end
local latest = rcall('ZRANGE', watch, '-1', '-1', 'WITHSCORES')
if latest[2] then
  rcall('PEXPIRE', watch, string.format('%d', tonumber(latest[2]) - now))
end
local alive = rcall('ZCARD', watch)
if ttl > 0 then
  rcall('PUBLISH', ARGV[3], 'watch')
elseif alive == 0 and rcall('EXISTS', KEYS[2]) == 0 then
  rcall('PUBLISH', ARGV[3], 'unwatch')
end
return alive

-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments.
-- @include rcall
-- addDelayed(delayed, due, member, channel): ZADD the member; when it is now the earliest, tell
-- the workers (control channel, message 'due') so they promote it when due rather than at
-- their next sweep. Worker-side callers pass no channel and wake their own promoter.
local function addDelayed(delayed, due, member, channel)
  local first = rcall('ZRANGE', delayed, '0', '0', 'WITHSCORES')[2]
  rcall('ZADD', delayed, due, member)
  if channel and (not first or due < tonumber(first)) then rcall('PUBLISH', channel, 'due') end
end

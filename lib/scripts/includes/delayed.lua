-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments.
-- @include rcall
-- tellIfEarliest(delayed, due, channel): tells the workers (control channel, message 'due')
-- when `due` comes before everything in the delayed set, so they promote it when due rather than
-- at their next sweep. Called before the ZADD it announces: a subscriber reads the set only once
-- the script is over, and a channel an ACL refuses then fails the call before it wrote the task.
local function tellIfEarliest(delayed, due, channel)
  local first = rcall('ZRANGE', delayed, '0', '0', 'WITHSCORES')[2]
  if not first or due < tonumber(first) then rcall('PUBLISH', channel, 'due') end
end

-- isEarliestBut(delayed, due, leaving): whether `due` comes before everything in the delayed set
-- but `leaving` (a member the caller removes in the same call, or nil): tellIfEarliest's read,
-- for a caller that tells after other reads. A set of another type refuses it (WRONGTYPE).
local function isEarliestBut(delayed, due, leaving)
  local head = rcall('ZRANGE', delayed, '0', leaving and '1' or '0', 'WITHSCORES')
  local first = head[1] == leaving and head[4] or head[2]
  return not first or due < tonumber(first)
end

-- addDelayed(delayed, due, member, channel): ZADD the member, telling the workers when it is
-- now the earliest (tellIfEarliest). Worker-side callers pass no channel and wake their own
-- promoter.
local function addDelayed(delayed, due, member, channel)
  if channel then tellIfEarliest(delayed, due, channel) end
  rcall('ZADD', delayed, due, member)
end

--[[
  Read one queue's state as Redis holds it, in one step: for inspect() and scrape-time gauges.
  KEYS[1] stream
  KEYS[2] delayed set
  KEYS[3] dead-letter stream
  ARGV[1] consumer group
  Returns {length, delayed, dead-lettered, pending, waiting, waiting exact (1/0), oldest waiting
  age ms (-1: none), next delayed due in ms (-1: none), entries added, entries read (-1: unknown),
  consumers: {name, pending, idle ms} each}. Writes nothing; atomic: one consistent snapshot.

  waiting is the group's lag (entries not yet read by the group). Redis cannot always compute it
  (deleted entries past the group's read position): then it is length - pending, an upper bound
  that may count acked entries still awaiting their trim, and "exact" is 0. Payloads never leave
  Redis: the oldest waiting entry is read here and only its id's time is returned.
]]
local rcall = redis.call
-- @include now-ms

local stream, delayed, dlq, group = KEYS[1], KEYS[2], KEYS[3], ARGV[1]
local now = nowMs()

-- A flat reply {name, value, ...} as a table.
local function fieldsOf(flat)
  local t = {}
  for i = 1, #flat - 1, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

local length = rcall('XLEN', stream)
local delayedCount = rcall('ZCARD', delayed)
local dead = rcall('XLEN', dlq)
local nextDue = rcall('ZRANGE', delayed, 0, 0, 'WITHSCORES')[2]
local pending, waiting, exact, added, read = 0, length, 1, 0, -1
local after, consumers = '-', {}

if rcall('EXISTS', stream) == 1 then
  added = tonumber(fieldsOf(rcall('XINFO', 'STREAM', stream))['entries-added']) or 0
  for _, raw in ipairs(rcall('XINFO', 'GROUPS', stream)) do
    local g = fieldsOf(raw)
    if g.name == group then
      pending = g.pending
      after = '(' .. g['last-delivered-id']
      if g['entries-read'] then read = g['entries-read'] end
      if g.lag then
        waiting = g.lag
      else
        waiting, exact = math.max(0, length - pending), 0
      end
      for _, c in ipairs(rcall('XINFO', 'CONSUMERS', stream, group)) do
        local f = fieldsOf(c)
        consumers[#consumers + 1] = {f.name, f.pending, f.idle}
      end
    end
  end
end

local oldest = -1
if waiting > 0 then
  local first = rcall('XRANGE', stream, after, '+', 'COUNT', 1)[1]
  if first then oldest = math.max(0, now - tonumber(string.match(first[1], '^(%d+)'))) end
end
local dueIn = nextDue and math.max(0, tonumber(nextDue) - now) or -1
return {length, delayedCount, dead, pending, waiting, exact, oldest, dueIn, added, read, consumers}

--[[
  Read one queue's state as Redis holds it, in one step: for inspect() and scrape-time gauges.
  KEYS: stream, delayed set, dead letters, the flow room, its entry times, the flow task records.
  ARGV: group, limit, the most consumers to list, the most groups to read.
  KEYS[1] stream
  KEYS[2] delayed set
  KEYS[3] dead-letter stream
  KEYS[4] the flow waiting room (includes/flow.lua): tasks waiting for a slot or a rate token
  KEYS[5] the room's entry times (flow:entered, includes/flow.lua): its first member still
          waiting is the task that has waited there longest; of another type, it reads as none
  KEYS[6] the flow task records (flow:tasks): which of those times belong to a task still waiting
  The room or the task records of another type fail the read with WRONGTYPE naming the key
  (includes/flow-key-type.lua).
  ARGV[1] consumer group
  ARGV[2] the most entries one count may read (see below)
  ARGV[3] the most consumers to list: a group with more lists none (0: none, for counts())
  ARGV[4] the most consumer groups the stream may have: past it, error 'GROUPS <count>', read
          before any group is (includes/group-row.lua)
  Returns {length, delayed, dead-lettered, pending, waiting, waiting exact (1/0), oldest waiting
  age ms (-1: none), next delayed due in ms (-1: none; both at most 2^53-1), entries added,
  entries read (-1: unknown), consumers: {name, pending, idle ms} each (empty past ARGV[3]),
  tasks in the waiting room, the group's consumers (0: no group)}. Writes nothing. Atomic: one consistent snapshot.
  Anyone who can write to Redis can give the group any number of consumers (XGROUP
  CREATECONSUMER), and XINFO CONSUMERS reads every one: it is sent only when the group has at
  most ARGV[3] (XINFO GROUPS counts them), so the script's work and reply stay bounded.
  The oldest waiting age is the oldest of the stream's oldest unread entry (since it entered the
  stream), the room's oldest task (since it entered the room) and the delayed set's first task
  once due (since it fell due: no worker promoted it, as when every worker is down): one read
  each, whatever the backlog (the room is ordered by task, group and rank, so its entry times are
  kept beside it; the delayed set's first due time is the one nextDue reads), plus one HGET per
  entry time looked at (at most 16) to skip times an older version left.

  waiting is counted, never taken from the group's lag: Redis 7.0 to 7.2 report a lag one too
  high once an unread entry was deleted (replace(), remove(), cancel()) and the group then read
  past the gap or the stream emptied, because the group's read counter never learns of the gap
  (redis/redis#13337, #13957; fixed in later releases, not in 7.0). The count reads the smaller
  side of the group's read position, at most ARGV[2] entries of it: the unread entries when
  length - pending (an upper bound of them) is within the limit, else the delivered entries still
  in the stream (running ones, and acked ones awaiting their trim: about the fleet's in-flight
  work, whatever the backlog), then waiting = length - delivered; else the unread entries again.
  Only when both sides exceed the limit is waiting length - pending, an upper bound, and "exact"
  0. Payloads never leave Redis: only counts and the oldest waiting entry's id time are returned.
]]
-- @include rcall
-- @include now-ms
-- @include group-row
-- @include flow-key-type

local stream, delayed, dlq, group, limit = KEYS[1], KEYS[2], KEYS[3], ARGV[1], tonumber(ARGV[2])
local listLimit, groupLimit = tonumber(ARGV[3]), tonumber(ARGV[4])
local now = nowMs()

local length = rcall('XLEN', stream)
local delayedCount = rcall('ZCARD', delayed)
local dead = rcall('XLEN', dlq)
local nextDue = rcall('ZRANGE', delayed, '0', '0', 'WITHSCORES')[2]
local pending, waiting, exact, added, read = 0, length, 1, 0, -1
local after, consumers, consumerCount = '-', {}, 0

-- Entries in [from, to], or -1 when there are more than the limit.
local function countUpTo(from, to)
  local n = #rcall('XRANGE', stream, from, to, 'COUNT', limit + 1)
  return n > limit and -1 or n
end

-- The exact number of entries past lastRead, or length - pending (an upper bound) and exact 0.
local function countUnread(lastRead)
  local upper = math.max(0, length - pending)
  if upper <= limit then return countUpTo('(' .. lastRead, '+'), 1 end
  local delivered = countUpTo('-', lastRead)
  if delivered >= 0 then return length - delivered, 1 end
  local unread = countUpTo('(' .. lastRead, '+')
  if unread >= 0 then return unread, 1 end
  return upper, 0
end

local g, refusal, info = groupRow(stream, group, groupLimit)
if refusal then return refusal end
if info then added = tonumber(info['entries-added']) or 0 end
if g then
  pending = g.pending
  after = '(' .. g['last-delivered-id']
  if g['entries-read'] then read = g['entries-read'] end
  waiting, exact = countUnread(g['last-delivered-id'])
  consumerCount = g.consumers
  if listLimit > 0 and consumerCount <= listLimit then
    for _, c in ipairs(rcall('XINFO', 'CONSUMERS', stream, group)) do
      local f = fieldsOf(c)
      consumers[#consumers + 1] = {f.name, f.pending, f.idle}
    end
  end
end

local oldest = -1
if waiting > 0 then
  local first = rcall('XRANGE', stream, after, '+', 'COUNT', '1')[1]
  if first then oldest = math.max(0, now - tonumber(string.match(first[1], '^(%d+)'))) end
end
-- The room's oldest entry time whose task still waits (a wait record in flow:tasks starts with a
-- zero byte): an older version's admission, which knows nothing of flow:entered, leaves its
-- task's time behind, and the oldest times are the ones left. At most ENTERED_LOOK are looked at.
local ENTERED_LOOK = 16
-- Entry times of another type (anyone with Redis access can SET the key) read as none, as the
-- flow scripts read them (includes/flow.lua flowCheckKeys): no read fails for them.
local enteredRead, times = pcall(rcall, 'ZRANGE', KEYS[5], '0', ENTERED_LOOK - 1, 'WITHSCORES')
if not enteredRead then times = {} end
for i = 1, #times - 1, 2 do
  local state = flowRead('hash', 'HGET', KEYS[6], times[i])
  if state and string.byte(state, 1) == 0 then
    oldest = math.max(oldest, now - tonumber(times[i + 1]), 0)
    break
  end
end
-- A delayed task past its due time waits to run as an unread entry does: without it a queue
-- whose tasks came delayed (retries, periodic successors) aged nothing while no worker promoted.
if nextDue and tonumber(nextDue) <= now then oldest = math.max(oldest, now - tonumber(nextDue)) end
local dueIn = nextDue and math.max(0, tonumber(nextDue) - now) or -1
-- Anyone can write a score (ZADD <delayed> inf, an entry time of -inf): a number past 2^63 (inf
-- too) became the integer -2^63 in Redis's reply, so each age is capped where JavaScript still
-- reads it exactly.
local MAX_MS = 9007199254740991
oldest, dueIn = math.min(oldest, MAX_MS), math.min(dueIn, MAX_MS)
return {length, delayedCount, dead, pending, waiting, exact, oldest, dueIn, added, read, consumers,
  flowRead('zset', 'ZCARD', KEYS[4]), consumerCount}

-- Helper included by flow.lua and claim.lua: it reads no KEYS or ARGV of its own; the including
-- script passes the partition's flow keys as F (see flow.lua's flowKeys).
-- @include rcall
-- @include now-ms
-- Rate limits (rateLimit, groupRateLimit; docs/design/flow-control.md). For each window W of a
-- task (the task, or the task and a group), in any interval of perMs on Redis's clock, at most
-- max runs start, first starts and restarts alike. A token is taken at admission (flowAdmit): a
-- PENDING marker that counts in the window until the run starts, when claim.lua turns it into a
-- start record at Redis's TIME. A run that starts again (reclaimed, recovered) has no marker
-- left: it needs a free token at its claim, or waits. Why starts stay within the limit: take the
-- start whose token was taken last among those of one interval; when it was taken, each other
-- one was started inside the interval or still pending, so counted; so they are at most max.
-- Start records are never deleted early: they leave the window by time (that is a token's
-- release). A marker goes with its entry when it is removed without starting (flowRelease).
--
-- F.starts ZSET, all scores 0, lex order: '<W>\0<time, 16 digits>\0<entry id>[\0<delivery>]',
--          the time a start's Redis ms, or RATE_PENDING for a marker; W is 't\0<name>'
--          (rateLimit) or 'g\0<name>\0<group>' (groupRateLimit); names and groups have no NUL
-- F.wake   ZSET member -> Redis ms when a token may be free: '<name>' when the task's rateLimit
--          window is full (its pairs stay in the ring), '<name>\0<group>' when the pair's
--          groupRateLimit window is full (the pair left the ring). promote.lua serves due ones.

local RATE_PENDING = '9999999999999999'

-- A limits record's rate part ('<max> <perMs> <group max> <group perMs>' after the three slot
-- numbers; 0 = none); nil for a task without rates (and for the old three-number records).
local function rateParse(text)
  local max, per, gmax, gper = string.match(text or '', '^%d+ %d+ %d+ (%d+) (%d+) (%d+) (%d+)$')
  max, gmax = tonumber(max) or 0, tonumber(gmax) or 0
  if max == 0 and gmax == 0 then return nil end
  return {max = max, per = tonumber(per), gmax = gmax, gper = tonumber(gper)}
end

-- One Redis time per script call: the windows of one call are judged at one instant.
local rateNowMs = nil
local function rateNow()
  rateNowMs = rateNowMs or nowMs()
  return rateNowMs
end

-- The windows a run of `name` in `group` counts in: rateLimit's first.
local function rateWindows(rates, name, group)
  local windows = {}
  if not rates then return windows end
  if rates.max > 0 then
    windows[#windows + 1] = {key = 't\0' .. name, max = rates.max, per = rates.per, wake = name}
  end
  if rates.gmax > 0 then
    local pair = name .. '\0' .. group
    windows[#windows + 1] = {key = 'g\0' .. pair, max = rates.gmax, per = rates.gper, wake = pair, group = true}
  end
  return windows
end

local function stamp(ms) return string.format('%016d', ms) end

-- Trims what left the window; returns how many tokens it holds (starts and markers).
local function rateCount(F, win, now)
  local from = win.key .. '\0' .. stamp(now - win.per + 1)
  rcall('ZREMRANGEBYLEX', F.starts, '[' .. win.key .. '\0', '(' .. from)
  return rcall('ZLEXCOUNT', F.starts, '[' .. from, '[' .. win.key .. '\0\255')
end

-- Ms until a full (trimmed) window frees a token: its oldest start leaves it; perMs when it
-- holds only markers (they start at the earliest now: early is harmless, the wake re-checks).
local function rateWaitMs(F, win, now)
  local first = rcall('ZRANGEBYLEX', F.starts, '[' .. win.key .. '\0', '[' .. win.key .. '\0\255', 'LIMIT', 0, 1)[1]
  local at = first and string.sub(first, #win.key + 2, #win.key + 17)
  if not at or at == RATE_PENDING then return win.per end
  return math.max(1, tonumber(at) + win.per - now)
end

-- A window found full stays full for the rest of the call (only this call writes): a feed
-- passing over many pairs of one task checks its window once.
local rateFull = {}

-- The first full window of a run of `name` in `group` and the ms until it frees a token; nil
-- when each window has one.
local function rateFullWindow(F, rates, name, group)
  for _, win in ipairs(rateWindows(rates, name, group)) do
    local wait = rateFull[win.key]
    if not wait and rateCount(F, win, rateNow()) >= win.max then
      wait = rateWaitMs(F, win, rateNow())
      rateFull[win.key] = wait
    end
    if wait then return win, wait end
  end
  return nil
end

-- Wakes `member` at `at` (Redis ms), unless it is woken earlier already.
local function rateWake(F, member, at)
  local set = tonumber(rcall('ZSCORE', F.wake, member))
  if not set or at < set then rcall('ZADD', F.wake, at, member) end
end

-- Pairs a feed's pass set aside, in the order met: their task's rateLimit window is full.
local rateSkipped = {}

-- A feed meets `pair` (its slots are free): if a window of it is full, the pair waits for its
-- wake and this returns true. A full group window takes it out of the ring; a full rateLimit
-- window sets it aside, and rateRestore puts it back at the ring's head, in its turn: rotated
-- to the tail behind pairs admitted in the same pass, it would lose its turn to them at every
-- wake (a flooding group would take every token).
local function rateHold(F, pair, rates, name, group)
  local win, wait = rateFullWindow(F, rates, name, group)
  if not win then return false end
  rateWake(F, win.wake, rateNow() + wait)
  if win.group then rcall('SREM', F.ringed, pair) else rateSkipped[#rateSkipped + 1] = pair end
  return true
end

-- Ends a feed's pass: the pairs set aside go back to the ring's head, in their order.
local function rateRestore(F)
  for i = #rateSkipped, 1, -1 do rcall('LPUSH', F.ring, rateSkipped[i]) end
  rateSkipped = {}
end

-- The stream fields of an admitted run with rates: field rl sends it through claim.lua.
local function rateMarked(fields)
  for i = 1, #fields - 1, 2 do
    if fields[i] == 'rl' then return fields end
  end
  fields[#fields + 1] = 'rl'
  fields[#fields + 1] = '1'
  return fields
end

-- Admission takes a token of each window: a marker of the entry (the caller checked they are free).
local function rateTake(F, rates, name, group, entryId)
  for _, win in ipairs(rateWindows(rates, name, group)) do
    rcall('ZADD', F.starts, 0, win.key .. '\0' .. RATE_PENDING .. '\0' .. entryId)
    rateFull[win.key] = nil
  end
end

-- An entry removed for good gives back the tokens of a start it never made.
local function rateGiveBack(F, name, group, entryId)
  local tail = '\0' .. RATE_PENDING .. '\0' .. entryId
  rcall('ZREM', F.starts, 't\0' .. name .. tail, 'g\0' .. name .. '\0' .. group .. tail)
end

-- A run of entry `entryId` starts (claim.lua, delivery number `delivery`): each window's marker
-- becomes a start record now; a window without one (a restart) needs a free token. Returns true
-- and the ms until the earliest of its records leaves its window (when a waiting task may be
-- admitted); or false and the ms to wait when a window is full, and nothing is written.
local function rateStart(F, rates, name, group, entryId, delivery)
  local now = rateNow()
  local windows = rateWindows(rates, name, group)
  local wait = 0
  for _, win in ipairs(windows) do
    local marker = win.key .. '\0' .. RATE_PENDING .. '\0' .. entryId
    win.marker = rcall('ZSCORE', F.starts, marker) and marker
    if not win.marker and rateCount(F, win, now) >= win.max then wait = math.max(wait, rateWaitMs(F, win, now)) end
  end
  if wait > 0 then return false, wait end
  local leaves = 0
  for _, win in ipairs(windows) do
    if win.marker then rcall('ZREM', F.starts, win.marker) end
    rcall('ZADD', F.starts, 0, win.key .. '\0' .. stamp(now) .. '\0' .. entryId .. '\0' .. delivery)
    if leaves == 0 or win.per < leaves then leaves = win.per end
  end
  return true, leaves
end

-- Helper included by flow.lua and claim.lua: it reads no KEYS or ARGV of its own; the including
-- script passes the partition's flow keys as F (see flow.lua's flowKeys).
-- @include rcall
-- @include now-ms
-- Rate limits (rateLimit, groupRateLimit; docs/design/flow-control.md). For each window W of a
-- task (the task, or the task and a group), in any interval of perMs on Redis's clock, at most
-- max runs start, first starts and restarts alike. A token is taken at admission (flowAdmit): a
-- PENDING marker that counts in the window until the run starts, when claim.lua turns it into a
-- start record at Redis's TIME. A run that starts again (reclaimed, recovered) has no marker
-- left: it needs a free token at its claim, or waits with a RESERVATION that admissions count,
-- so they cannot take every freed token ahead of it; in a window full of tokens it takes over a
-- pending marker instead (rateStart). A run claimed again before its handler began moves its
-- start record to now. Why starts stay within the limit: take the
-- start whose token was taken last among those of one interval; when it was taken, each other
-- one was started inside the interval or still pending, so counted; so they are at most max.
-- Start records are never deleted early (a move only replaces one by a later one of the same
-- run, so it counts longer): they leave the window by time (that is a token's
-- release). A marker goes with its entry when it is removed without starting (flowRelease).
--
-- F.starts ZSET, all scores 0, lex order: '<W>\0<time, 16 digits>\0<entry id>[\0<delivery>]',
--          the time a start's Redis ms, RATE_PENDING for a marker, RATE_RESERVED (no
--          delivery part) for a held restart's reservation; W is 't\0<name>'
--          (rateLimit) or 'g\0<name>\0<group>' (groupRateLimit); names and groups have no NUL
-- F.wake   ZSET member -> Redis ms when a token may be free: '<name>\0<group>' when the pair's
--          groupRateLimit window is full (the pair left the ring); '<name>' when the task's
--          rateLimit window is full and pairs of it are parked (its presence also tells a
--          newcomer to queue behind them instead of taking the next token); '\2' when a
--          promotion stopped on its budget (the next one goes on), '\3<name>' when a feed of
--          task <name>'s parked pairs did, or a refused stream stopped it (flow.lua's flowFeedAll,
--          globalUnpark). promote.lua serves due ones.
-- F.parked ZSET, all scores 0: '<name>\0<seq, 16 digits>\0<group>', pairs taken out of the ring
--          while their task's rateLimit window is full, in the order they met it. They stay in
--          F.ringed, so nothing pushes them back early, and cost nothing until the task's wake
--          (or a token given back) puts them back at the ring's head in that order: a feed
--          never passes over them.

local RATE_PENDING = '9999999999999999'
-- The time part of a RESERVATION: a restart (no marker) told to wait in a full window keeps the
-- next free token for itself. Admissions count it; restarts do not (so they start exactly when
-- they did before, and two held restarts cannot block each other). Without it, fresh
-- admissions (a promotion runs when the window frees) could take every freed token ahead of a
-- held restart for as long as tasks keep waiting. It goes when its run starts or its entry is
-- removed for good (rateGiveBack), like a marker.
local RATE_RESERVED = '9999999999999998'

-- The longest window an enqueue records (perMs up to MAX_TIMER_MS, lib/stream-queue.constants.ts).
-- A longer one, written by anyone with Redis access, reads as it: a wait of about perMs past a
-- Node timer's range (or past a 64-bit reply, which turns negative) fires after 1 ms.
local RATE_MAX_PER_MS = 2147483647

-- A limits record's rate part ('<max> <perMs> <group max> <group perMs>' after the three slot
-- numbers; 0 = none); nil for a task without rates (and for the old three-number records).
local function rateParse(text)
  local max, per, gmax, gper = string.match(text or '', '^%d+ %d+ %d+ (%d+) (%d+) (%d+) (%d+)$')
  max, gmax = tonumber(max) or 0, tonumber(gmax) or 0
  if max == 0 and gmax == 0 then return nil end
  return {max = max, per = math.min(tonumber(per), RATE_MAX_PER_MS), gmax = gmax,
    gper = math.min(tonumber(gper), RATE_MAX_PER_MS)}
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

-- The members of window `key` that stand for entry `entryId` before its start: its admission's
-- marker, and a held restart's reservation.
local function rateMarker(key, entryId) return key .. '\0' .. RATE_PENDING .. '\0' .. entryId end
local function rateReservation(key, entryId) return key .. '\0' .. RATE_RESERVED .. '\0' .. entryId end

-- Trims what left the window; returns how many tokens it holds (starts and markers).
local function rateCount(F, win, now)
  local from = win.key .. '\0' .. stamp(now - win.per + 1)
  rcall('ZREMRANGEBYLEX', F.starts, '[' .. win.key .. '\0', '(' .. from)
  return rcall('ZLEXCOUNT', F.starts, '[' .. from, '[' .. win.key .. '\0\255')
end

-- A full window that holds no start record (only markers and reservations) frees a token only
-- after one of them becomes a start, perMs after that start: the claim that starts it brings
-- the window's wake forward (rateWakeNoLater). A wake set meanwhile is this much beyond perMs,
-- a backstop only: a wake at perMs would find the window full again and re-park every waiting
-- pair, each perMs, for as long as the admitted runs wait for a worker (paused, or every slot
-- busy).
local RATE_IDLE_WAKE_MS = 60000

-- Ms until a full (trimmed) window frees a token: its oldest start leaves it. When it holds no
-- start, `idleMs`: the feed's wakes take the backstop above; a held restart's timer takes perMs
-- (it claims again then, one claim per line: see RateHold).
local function rateWaitMs(F, win, now, idleMs)
  local first = rcall('ZRANGEBYLEX', F.starts, '[' .. win.key .. '\0', '[' .. win.key .. '\0\255', 'LIMIT', '0', '1')[1]
  local at = first and string.sub(first, #win.key + 2, #win.key + 17)
  if not at or at == RATE_PENDING or at == RATE_RESERVED then return idleMs or win.per + RATE_IDLE_WAKE_MS end
  -- A start happened by now: a time that is no number (a script error mid-settle) or a later one
  -- (a wait past a Node timer's range fires after 1 ms), written by anyone with Redis access,
  -- reads as now, so a window never waits longer than perMs. So does one at or before the
  -- window's start: the trim is lexical, and a number of fewer than 16 digits ('1000000000000')
  -- sorts after every stamp and outlives it; read as it, the wait was 1 ms, and every waiting
  -- pair's wake and every held restart's claim came back each millisecond while it stayed.
  local ms = tonumber(at)
  if not (ms and ms <= now and ms > now - win.per) then ms = now end
  return math.max(1, ms + win.per - now)
end

-- A window found full stays full for the rest of the call (only this call writes): a feed
-- passing over many pairs of one task checks its window once.
local rateFull = {}

-- The first full window of a run of `name` in `group` and the ms until it frees a token; nil
-- when each window has one.
-- Tokens counted in a window that was not full, by window (rateTake adds its own to it).
local rateCounted = {}

local function rateFullWindow(F, rates, name, group)
  for _, win in ipairs(rateWindows(rates, name, group)) do
    local wait = rateFull[win.key]
    if not wait then
      local count = rateCount(F, win, rateNow())
      if count >= win.max then
        wait = rateWaitMs(F, win, rateNow())
        rateFull[win.key] = wait
      else
        rateCounted[win.key] = count
      end
    end
    if wait then return win, wait end
  end
  return nil
end

-- The wake member of a promotion that stopped on its budget.
local RATE_MORE = '\2'

-- The queue's control channel ('<tag>:control', lib/redis/keys.ts), from the wake key's name
-- ('<tag>:flow:wake'): workers re-plan their promotion when told 'due'.
local function rateControlChannel(F) return string.sub(F.wake, 1, #F.wake - #':flow:wake') .. ':control' end

-- Whether the caller may announce on the control channel (nil: not asked yet). A wake comes
-- after other writes of its call (an admission's XADD, a removal's release), and Redis does not
-- roll a script back: a PUBLISH an ACL refuses (a producer's user with no channel, or its done
-- channel alone) failed the call midway, an admitted task in the stream holding no slot, a
-- removed one's slot counted for good. Such a caller's wake goes unannounced: the promotion a
-- worker plans anyway (every sweepIntervalMs at most) serves it. Asked once per call; no
-- command of Redis's.
local rateMayAnnounce = nil

-- Wakes `member` at `at` (Redis ms), unless it is woken earlier already. A wake earlier than
-- every other is announced: a worker's promotion may sleep until a later one, or until its
-- sweep (the process that planned this window's promotion may be gone).
local function rateWake(F, member, at)
  local set = tonumber(rcall('ZSCORE', F.wake, member))
  if set and set <= at then return end
  local first = tonumber(rcall('ZRANGE', F.wake, '0', '0', 'WITHSCORES')[2])
  rcall('ZADD', F.wake, at, member)
  if not first or at < first then
    local channel = rateControlChannel(F)
    if rateMayAnnounce == nil then rateMayAnnounce = redis.acl_check_cmd('PUBLISH', channel, 'due') end
    if rateMayAnnounce then rcall('PUBLISH', channel, 'due') end
  end
end

-- A feed meets `pair` (its slots are free): if a window of it is full, the pair waits for its
-- wake and this returns true. A full group window takes it out of the ring; a full rateLimit
-- window parks it (see F.wake) until the window frees, when promote.lua puts the parked pairs
-- back at the ring's head in the order they were parked: rotated to the tail behind pairs
-- admitted meanwhile, they would lose their turn at every wake (a flooding group would take
-- every token); left in the ring, every settle and enqueue would pass over them all.
-- When pairs of task `name` are parked for its rateLimit window (the earliest of their wakes),
-- or nil: a newcomer then waits its turn behind them.
-- No script sets a wake later than perMs + RATE_IDLE_WAKE_MS from now: a later one (inf, written
-- by anyone with Redis access) would hold the parked pairs for good, a newcomer queued behind it
-- and a settle feeding only the ring. It falls due now.
local function rateQueuedAt(F, rates, name)
  if rates == nil or rates.max == 0 then return nil end
  local at = tonumber(rcall('ZSCORE', F.wake, name))
  if at and not (at <= rateNow() + rates.per + RATE_IDLE_WAKE_MS) then
    at = rateNow()
    rateWake(F, name, at)
  end
  return at
end

-- Whether F.parked is known to be empty in this call (nil: not asked yet). A lex range costs
-- Redis about three EXISTS even on a missing key, and a global limit that does not bind asks
-- for parked pairs at every release: a settle asks once. Every park in the call forgets it.
local parkedKnownEmpty = nil
local function parkedEmpty(F)
  if parkedKnownEmpty == nil then parkedKnownEmpty = rcall('EXISTS', F.parked) == 0 end
  return parkedKnownEmpty
end

-- The next number of sequence `field` of F.limits ('\0parked' here, '\0arrivals' in flow.lua),
-- written in members as 16 digits that their readers cut at. A value anyone with Redis access
-- wrote there that HINCRBY refuses (it would fail the settle or promotion that parks or seats a
-- task, after its ack or its take from the delayed set), or that would outgrow 16 digits, starts
-- the sequence over: the order of what it numbered before is lost, nothing else.
local function nextSequence(F, field)
  local last = rcall('HGET', F.limits, field)
  if last and not (last == '0' or (#last <= 15 and string.find(last, '^[1-9]%d*$'))) then
    rcall('HSET', F.limits, field, '0')
  end
  return rcall('HINCRBY', F.limits, field, '1')
end

-- Parks `pair` of task `name` in F.parked under `prefix` .. '<seq>\0<group>': the sequence keeps
-- the order pairs were parked in (shared with flow.lua's globalPark).
local function parkPair(F, prefix, pair, name)
  local order = nextSequence(F, '\0parked')
  rcall('ZADD', F.parked, '0', prefix .. stamp(order) .. string.sub(pair, #name + 1))
  parkedKnownEmpty = false
end

-- Parks `pair` until `at`, behind the pairs of its task parked before it.
local function ratePark(F, pair, name, at)
  parkPair(F, name .. '\0', pair, name)
  rateWake(F, name, at)
end

-- Puts task `name`'s parked pairs back at the ring's head, in the order they were parked: they
-- had their turn when the window filled, and pairs admitted meanwhile went to the tail.
local function rateUnpark(F, name)
  local from, to = '[' .. name .. '\0', '[' .. name .. '\0\255'
  local parked = rcall('ZRANGEBYLEX', F.parked, from, to)
  for i = #parked, 1, -1 do rcall('LPUSH', F.ring, name .. string.sub(parked[i], #name + 18)) end
  if #parked > 0 then rcall('ZREMRANGEBYLEX', F.parked, from, to) end
end

-- Pairs parked for task `name`'s rateLimit window wait for its wake alone: they stay in F.ringed,
-- so no enqueue or settle of their group pushes them back. With the wake gone (anyone with Redis
-- access can delete F.wake or its member) they waited for good, a task without groups (one pair)
-- with every task enqueued since. A task of `name` entering the room calls this: pairs of it
-- parked with no wake get one due now (the next promotion unparks them). `wakeRead`: its caller
-- read the wake already and found none (rateQueuedAt), so only the parked pairs are looked up.
local function rateWakeParked(F, rates, name, wakeRead)
  if rates == nil or rates.max == 0 or parkedEmpty(F) then return end
  if not wakeRead and rcall('ZSCORE', F.wake, name) then return end
  local parked = rcall('ZRANGEBYLEX', F.parked, '[' .. name .. '\0', '[' .. name .. '\0\255', 'LIMIT', '0', '1')[1]
  if parked then rateWake(F, name, rateNow()) end
end

local function rateHold(F, pair, rates, name, group)
  local win, wait = rateFullWindow(F, rates, name, group)
  if not win then
    -- Tokens are free, but pairs parked before this one come first (their wake is due now or
    -- soon: a window freed and promote.lua has not served it yet).
    local queuedAt = rateQueuedAt(F, rates, name)
    if not queuedAt then return false end
    ratePark(F, pair, name, queuedAt)
    return true
  end
  local at = rateNow() + wait
  if win.group then
    rateWake(F, win.wake, at)
    rcall('SREM', F.ringed, pair)
  else
    ratePark(F, pair, name, at)
  end
  return true
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

-- Whether F.starts holds any record or marker: looked up once per call (rateGiveBack), and set
-- by every write of one in the call.
local rateStartsExist = nil

-- Admission takes a token of each window: a marker of the entry (the caller checked they are free).
-- The admission that takes a window's last token also sets its wake: pairs it leaves waiting in
-- the ring (a feed that stopped on its budget never met the full window) are fed when the
-- window frees, not at the next settle, which may be far off.
local function rateTake(F, rates, name, group, entryId)
  for _, win in ipairs(rateWindows(rates, name, group)) do
    local taken = (rateCounted[win.key] or rateCount(F, win, rateNow())) + 1
    rcall('ZADD', F.starts, '0', rateMarker(win.key, entryId))
    rateStartsExist = true
    rateFull[win.key] = nil
    rateCounted[win.key] = taken
    if taken >= win.max then rateWake(F, win.wake, rateNow() + rateWaitMs(F, win, rateNow())) end
  end
end

-- Brings `member`'s wake forward to `at` if it is set later (a wake nothing waits on is not
-- made).
local function rateWakeNoLater(F, member, at)
  local set = tonumber(rcall('ZSCORE', F.wake, member))
  if set and set > at then rateWake(F, member, at) end
end

-- An entry removed for good gives back the tokens of a start it never made. The pairs waiting
-- on its windows may have their token now: the task's wake (and the group window's) falls due
-- at once, announced, so the promotion unparks them all and feeds as far as the windows allow
-- (a feed of one here would strand the others in the ring with no wake, and a claim feeds
-- nothing).
-- With no record, marker or reservation at all (no task of the partition has had rates within
-- its windows) there is nothing to give back.
local function rateGiveBack(F, name, group, entryId)
  if rateStartsExist == nil then rateStartsExist = rcall('EXISTS', F.starts) == 1 end
  if not rateStartsExist then return end
  local task, pair = 't\0' .. name, 'g\0' .. name .. '\0' .. group
  local given = rcall('ZREM', F.starts, rateMarker(task, entryId), rateMarker(pair, entryId),
    rateReservation(task, entryId), rateReservation(pair, entryId))
  if given > 0 then
    rateWakeNoLater(F, name, rateNow())
    rateWakeNoLater(F, name .. '\0' .. group, rateNow())
  end
  rateFull, rateCounted = {}, {}
end

-- Reservations in window `win`: counted by rateCount, but not against a restart.
local function rateReserved(F, win)
  local from = rateReservation(win.key, '')
  return rcall('ZLEXCOUNT', F.starts, '[' .. from, '[' .. from .. '\255')
end

-- A marker in window `win` of an admitted entry that has not started, or nil.
local function rateUnstartedMarker(F, win)
  local from = rateMarker(win.key, '')
  return rcall('ZRANGEBYLEX', F.starts, '[' .. from, '[' .. from .. '\255', 'LIMIT', '0', '1')[1]
end

-- The record in window `win` of a start of this delivery counted at `earlier` or since (a claim
-- whose reply was lost may have moved it already), or nil. The delivery's run has not begun, so
-- none of its records stood for a start. Looked up at `earlier` first (one ZSCORE: the record
-- stays there unless moved), then among the window's newest `max` records up to now: an honest
-- window holds at most max starts, so a moved record is among them, and a pile of records anyone
-- with Redis access wrote there is never read through (a record buried under more than max of
-- them is not found: the run needs a token, as a restart does, in a window that reads as full).
local function rateEarlierRecord(F, win, earlier, now, entryId, delivery)
  local suffix = '\0' .. entryId .. '\0' .. delivery
  if earlier > now - win.per and earlier <= now then
    local exact = win.key .. '\0' .. stamp(earlier) .. suffix
    if rcall('ZSCORE', F.starts, exact) then return exact end
  end
  local from = win.key .. '\0' .. stamp(math.max(earlier, now - win.per + 1))
  local records = rcall('ZREVRANGEBYLEX', F.starts, '[' .. win.key .. '\0' .. stamp(now) .. '\255', '[' .. from,
    'LIMIT', '0', tostring(win.max))
  for _, record in ipairs(records) do
    if string.sub(record, -#suffix) == suffix then return record end
  end
  return nil
end

-- A run of entry `entryId` starts (claim.lua, delivery number `delivery`): each window's marker
-- becomes a start record now; a window without one (a restart) needs a free token, reservations
-- aside, or takes over the token of an admitted entry that has not started (its marker): that
-- entry then starts as a restart does, on a token of its own. Without the takeover, restarts
-- holding every handler slot of the workers (a rated run waits for its token in its slot) would
-- wait for ever on markers whose entries no free slot is left to read. The window's count stays
-- the same: a start for a marker. Returns true and the ms until the earliest of its records
-- leaves its window (when a waiting task may be admitted); or false and the ms to wait when a
-- window is full of starts, and the restart's reservation is written in each full window
-- (nothing else is).
-- `earlier` (Redis ms, or 0): this delivery's start counted by an earlier claim whose run has not
-- begun (held by a pause, or queued behind a busy handler): where its record is still in the
-- window, the record moves to now instead of taking a token (the count now is the same, and it
-- only counts longer); where it left, the run needs a token as a restart does. With 0 (a first
-- claim of the delivery), a window without its marker is looked through for this delivery's
-- record all the same: a claim resent after its reply was lost (ioredis resends it on its next
-- connection) finds the marker its first execution turned into that record, and counted a second
-- start (or waited a window, reserving a token) for the one run. A restart's delivery is a later
-- one, whose record no earlier claim wrote. A window with its marker (the plain path) looks
-- nothing up.
local function rateStart(F, rates, name, group, entryId, delivery, earlier)
  local now = rateNow()
  local windows = rateWindows(rates, name, group)
  local wait = 0
  for _, win in ipairs(windows) do
    local marker = rateMarker(win.key, entryId)
    win.marker = rcall('ZSCORE', F.starts, marker) and marker
    if not win.marker and (earlier == 0 or earlier > now - win.per) then
      win.marker = rateEarlierRecord(F, win, earlier, now, entryId, delivery)
    end
    if not win.marker and rateCount(F, win, now) - rateReserved(F, win) >= win.max then
      win.taken = rateUnstartedMarker(F, win)
      win.full = not win.taken
    end
    if win.full then wait = math.max(wait, rateWaitMs(F, win, now, win.per)) end
  end
  if wait > 0 then
    for _, win in ipairs(windows) do
      if win.full then
        rcall('ZADD', F.starts, '0', rateReservation(win.key, entryId))
        rateStartsExist = true
      end
    end
    return false, wait
  end
  local leaves = 0
  for _, win in ipairs(windows) do
    if win.marker then
      rcall('ZREM', F.starts, win.marker)
    else
      rcall('ZREM', F.starts, rateReservation(win.key, entryId))
      if win.taken then rcall('ZREM', F.starts, win.taken) end
    end
    rcall('ZADD', F.starts, '0', win.key .. '\0' .. stamp(now) .. '\0' .. entryId .. '\0' .. delivery)
    -- Its token frees perMs from now: a wake set while the window held no start comes forward.
    rateWakeNoLater(F, win.wake, now + win.per)
    rateStartsExist = true
    if leaves == 0 or win.per < leaves then leaves = win.per end
  end
  return true, leaves
end

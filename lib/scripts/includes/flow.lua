-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the partition's flow keys (QueueKeys.flowKeys(), FLOW_KEY_COUNT keys in that order) as F.
-- @include rcall
-- @include message
-- @include rate
-- @include flow-key-type
-- @include flow-writes
-- Flow control (concurrency limits, groups, priority; docs/design/flow-control.md). A slot
-- belongs to a task id: admission records its hold in `tasks`, and only flowRelease (called by the
-- scripts that remove an admitted entry for good) gives it back. HDEL answers 1 only once, so a
-- slot is released once whoever settles. Waiting tasks sit in the room, ranked by priority, and
-- the ring serves their (task, group) pairs in turn.
--
-- F.tasks  HASH task id -> its flow state: '<entry id>\0<name>\0<group>' while admitted and not
--          settled (it holds its slots; the entry id, so only a settle of that very entry
--          releases: not a hostile copy of it), or '\0<name>\0<group>\0<rank>' while it waits
--          in the room (its member's prefix, so a removal finds it; an entry id never starts with
--          NUL). One field per task: admission overwrites the wait with the hold.
-- F.count  HASH '<name>' -> runs held, '<name>\0<group>' -> runs of the group held
-- F.limits HASH '<name>' -> '<global> <group> <aging ms>' (0 = no limit), the enqueuer's @Task;
--          and '\0arrivals', the room's arrival sequence (task names have no NUL)
-- F.room   ZSET, all scores 0, members '<name>\0<group>\0<rank, 16 digits><arrival, 16
--          digits>\0<task id>\0<fields>': by lex order a pair's best-ranked task comes first
--          (ranks are unique, so the fields never decide an order); <fields> is the JSON array
--          of its stream fields as XADD takes them (name, value, ...): the member alone admits it
-- F.ring   LIST of '<name>\0<group>' pairs with waiting tasks, served in turn
-- F.ringed SET of the pairs in the ring (each is there at most once)
-- F.parked also holds the pairs parked for their task's global slot, '\0<name>\0<seq>\0<group>'
--          (see globalPark)
-- F.starts, F.wake, F.parked: rate limits' windows, wakes and parked pairs (see rate.lua); F.limits also holds the
--          rates, '<global> <group> <aging ms> <max> <perMs> <group max> <group perMs>'
-- F.entered ZSET task id -> the Redis ms it entered the room, for each task in F.room: its first
--          member is the oldest waiting, one read for the queue's oldest waiting age
--          (queue-state.lua; the room is ordered by pair and rank, not by age). Written where a
--          task enters the room (flowEnter) and leaves it (admitMember, flowUnwait)
-- F.refused STRING '<first ms> <last ms> <tries> <error>': the partition's streak of refused
--          admissions of waiting tasks (see noteRefusedAdmission), with a TTL; written only when
--          one is refused, so no admission that succeeds touches it
-- One key each per partition: the (task, group) pair a feed serves is read inside the script,
-- so its state cannot live under keys of its own (every key a script touches is declared).
-- Anyone with Redis access can put a key of another type in place of one of them (`SET
-- <prefix>:flow:count x`). A command on it raises WRONGTYPE, and Redis does not roll a script
-- back: a settle that met it after its ack left the run settled with its slots never released
-- (its retry answers "already settled"), a promotion or enter-admission lost the task it had
-- taken out. So every script that writes these keys checks the ones it may touch before its
-- first write (flowCheckKeys, flowCheckSettle): a key of another type refuses the call,
-- WRONGTYPE naming the key, nothing written, until the key is of its type again or gone.
-- F.entered alone reads as none instead, and is deleted: it orders nothing (ages only).

local FLOW_KEY_COUNT = 11

-- The string functions a settle's releases call most, as locals: about ten calls per run, and a
-- global's field (`string.find`) costs Redis two table lookups more than an upvalue. Main-chunk
-- locals are few (claim.lua is near Lua's 200): constants used by one function live in it.
local strFind, strSub = string.find, string.sub

local function flowKeys(first)
  return {tasks = KEYS[first], count = KEYS[first + 1], limits = KEYS[first + 2], room = KEYS[first + 3],
    ring = KEYS[first + 4], ringed = KEYS[first + 5], starts = KEYS[first + 6], wake = KEYS[first + 7],
    parked = KEYS[first + 8], entered = KEYS[first + 9], refused = KEYS[first + 10]}
end

-- The flow keys when they close KEYS (every script but the enqueues passes them last).
local function flowKeysAtEnd() return flowKeys(#KEYS - FLOW_KEY_COUNT + 1) end

-- A count as the scripts write it: a whole number, far below 15 digits. Anyone with Redis access
-- can write another ('x', '1.5', 2^63 - 1): it reads as none, here and in bump, whose HINCRBY
-- refuses it (or overflows), which failed the settle after its ack, leaving the releases of the
-- rest of its batch undone for good.
local function storedCount(text)
  if text and #text <= 15 and strFind(text, '^%-?%d+$') then return tonumber(text) end
  return nil
end

local function countOf(F, field) return storedCount(rcall('HGET', F.count, field)) or 0 end

-- A task's limits, read once per script call: a settle that feeds reads them for every check.
-- Every write goes through flowSetLimits, which keeps this copy true. The fifth value says
-- whether they changed while runs of the task may have been held (see flowSetLimits).
local limitsRead = {}

local function changedField(name) return '\0changed\0' .. name end

local function flowLimits(F, name)
  local limits = limitsRead[name]
  if not limits then
    -- The most priorityAgingMs an enqueue records (lib/stream-queue.config.ts). A longer one,
    -- written by anyone with Redis access, reads as it: a rank must fit its 16 digits, which the
    -- room's readers cut at (past them, an admission read another task id than the member's).
    local MAX_AGING_MS = 86400000
    local text, changed = unpack(rcall('HMGET', F.limits, name, changedField(name)))
    text = text or nil
    local global, group, aging = string.match(text or '', '^(%d+) (%d+) (%d+)')
    aging = math.min(tonumber(aging) or 0, MAX_AGING_MS)
    limits = {tonumber(global) or 0, tonumber(group) or 0, aging, rateParse(text)}
    limits.changed = changed ~= false
    limitsRead[name] = limits
  end
  return limits[1], limits[2], limits[3], limits[4], limits.changed
end

-- rateRecordLeft(F, member, now): for a member of F.starts, true when it is a start record that
-- left its window under its task's recorded rates (at or before now - perMs), or one of a window
-- its task no longer has older than the longest window a limit can have: what rateCount would
-- trim, so no window counts differently. False for a start still in its window, a marker or a
-- reservation (a token taken); nil for a member of another form (no process writes one). The
-- second value says whether the window is one of its task's recorded rates.
local function rateRecordLeft(F, member, now)
  local kind = strSub(member, 1, 2)
  local nameEnd = strFind(member, '\0', 3, true)
  local per, timeAt = nil, nil
  if nameEnd and (kind == 't\0' or kind == 'g\0') then
    local r = select(4, flowLimits(F, strSub(member, 3, nameEnd - 1)))
    if kind == 't\0' then
      timeAt = nameEnd + 1
      per = r and r.max > 0 and r.per
    else
      local groupEnd = strFind(member, '\0', nameEnd + 1, true)
      timeAt = groupEnd and groupEnd + 1
      per = r and r.gmax > 0 and r.gper
    end
  end
  local text = timeAt and strSub(member, timeAt, timeAt + 15)
  if not (text and #text == 16 and strFind(text, '^%d+$') and strSub(member, timeAt + 16, timeAt + 16) == '\0') then
    return nil
  end
  local known = per and true or false
  if text == RATE_PENDING or text == RATE_RESERVED then return false, known end
  return tonumber(text) <= now - (per or RATE_MAX_PER_MS), known
end

-- A task whose groupConcurrency this call raised (or lifted): flowFeedAll rings its waiting groups.
local groupRaised = {}
-- Tasks whose rateLimit (task window) or groupRateLimit this call changed: flowFeedAll serves the
-- pairs waiting for their old windows.
local taskRateChanged, groupRateChanged = {}, {}

-- A limits record's rateLimit and groupRateLimit parts ('' for none, however recorded).
local function rateParts(text)
  local task, group = string.match(text or '', '^%d+ %d+ %d+ (%d+ %d+) (%d+ %d+)$')
  local function part(p) return (p and strSub(p, 1, 2) ~= '0 ') and p or '' end
  return part(task), part(group)
end

-- Records a task's limits; returns true when they changed (raised limits leave headroom that
-- no release will fill: the caller feeds it, see flowFeedAll). A change while runs of the task
-- are held also marks it CHANGED until none is (bump): until then a group may hold more runs
-- than its limit (lowered, or admitted before any was recorded), or fewer while out of the ring
-- (raised), so a release reads the counts instead of trusting that a full group's pair holds
-- exactly its limit.
local function flowSetLimits(F, name, text)
  local before = rcall('HGET', F.limits, name)
  local changed = before ~= text
  if changed then
    if countOf(F, name) > 0 then
      rcall('HSET', F.limits, name, text, changedField(name), '1')
    else
      rcall('HSET', F.limits, name, text)
    end
    local old = tonumber(string.match(before or '', '^%d+ (%d+)')) or 0
    local new = tonumber(string.match(text, '^%d+ (%d+)')) or 0
    groupRaised[name] = old > 0 and (new == 0 or new > old)
    local taskBefore, groupBefore = rateParts(before)
    local taskNow, groupNow = rateParts(text)
    taskRateChanged[name], groupRateChanged[name] = taskBefore ~= taskNow, groupBefore ~= groupNow
  end
  limitsRead[name] = nil
  rateFull, rateCounted = {}, {}
  return changed
end

-- The two slot checks apart: a pair whose group is full leaves the ring until one of its own
-- runs settles; a pair waiting only for a global slot stays in it.
local function groupFree(F, name, group)
  local _, groupLimit = flowLimits(F, name)
  return groupLimit == 0 or countOf(F, name .. '\0' .. group) < groupLimit
end

local function globalFree(F, name)
  local globalLimit = flowLimits(F, name)
  return globalLimit == 0 or countOf(F, name) < globalLimit
end

-- Adds `by` to a count; returns the new count. A task none of whose runs is held any more
-- holds no group above or below its limit: its CHANGED mark goes (see flowSetLimits).
-- Fields bump checked in this call (one HGET each, not one per bump: a settle bumps a task's
-- count once per run it releases).
local countChecked = {}

local function bump(F, field, by)
  if not countChecked[field] then
    countChecked[field] = true
    local text = rcall('HGET', F.count, field)
    if text and not storedCount(text) then rcall('HDEL', F.count, field) end
  end
  local n = rcall('HINCRBY', F.count, field, by == 1 and '1' or by == -1 and '-1' or by)
  if n <= 0 then
    rcall('HDEL', F.count, field)
    if not strFind(field, '\0', 1, true) then
      rcall('HDEL', F.limits, changedField(field))
      if limitsRead[field] then limitsRead[field].changed = false end
    end
  end
  return n
end

local function pairPrefix(pair) return pair .. '\0' end

-- Whether the room is known to be empty in this call (nil: not asked yet; false: it was not, so
-- ask the real question). A lex range costs Redis about three EXISTS even on a missing key, and
-- a limit that does not bind leaves the room empty while every release asks for its pair's best:
-- a settle asks once. Every task entering the room in the call forgets it.
local roomKnownEmpty = nil
local function roomEmpty(F)
  if roomKnownEmpty == nil then roomKnownEmpty = rcall('EXISTS', F.room) == 0 end
  return roomKnownEmpty
end

-- The best-ranked waiting member of a pair, or nil.
local function bestOf(F, pair)
  if roomEmpty(F) then return nil end
  return rcall('ZRANGEBYLEX', F.room, '[' .. pair .. '\0', '[' .. pair .. '\0\255', 'LIMIT', '0', '1')[1]
end

-- Whether a task of the pair waits: counted, not read (a member carries its task's fields).
local function pairWaits(F, pair)
  if roomEmpty(F) then return false end
  local prefix = pairPrefix(pair)
  return rcall('ZLEXCOUNT', F.room, '[' .. prefix, '[' .. prefix .. '\255') > 0
end

-- Whether the ring is known to be empty in this call: a settle's releases ask once, not once per
-- run. Every push to the ring in the call forgets it.
local ringKnownEmpty = false
local function ringEmpty(F)
  if not ringKnownEmpty then ringKnownEmpty = rcall('LLEN', F.ring) == 0 end
  return ringKnownEmpty
end

local function ringPush(F, pair)
  ringKnownEmpty = false
  rcall('RPUSH', F.ring, pair)
end

local function ringAdd(F, pair)
  if rcall('SADD', F.ringed, pair) == 1 then ringPush(F, pair) end
end

-- The pair that `held`, a task's record in F.tasks, holds slots of for stream entry `entryId`,
-- then its task name and group (what splitPair gives, cut here without a call more); nil when it
-- holds none for that entry. Compared in place: a settle releases many runs, and each string made
-- costs Redis its hashing and its garbage. A hold without its group part was written by no script
-- (anyone with Redis access can): it names no pair to release, and splitting it would fail the
-- settle.
local function heldPair(held, entryId)
  local at = #entryId + 2
  local cut = held and string.byte(held, at - 1) == 0 and strFind(held, entryId, 1, true) == 1
    and strFind(held, '\0', at, true)
  if not cut then return nil end
  return strSub(held, at), strSub(held, at, cut - 1), strSub(held, cut + 1)
end

-- What each flow key holds (TYPE's answer), and the keys in flowKeys' order. F.refused is not
-- checked: it is written by SET, which takes any key, and read under pcall (noteRefusedAdmission).
local FLOW_KEY_TYPES = {tasks = 'hash', count = 'hash', limits = 'hash', room = 'zset', ring = 'list',
  ringed = 'set', starts = 'zset', wake = 'zset', parked = 'zset', entered = 'zset'}
local FLOW_KEY_NAMES = {'tasks', 'count', 'limits', 'room', 'ring', 'ringed', 'starts', 'wake', 'parked', 'entered'}

-- The type flow key `flowKey` (one of F's) holds, 'none' when it is missing.
local function keyType(flowKey)
  local t = rcall('TYPE', flowKey)
  return type(t) == 'table' and t.ok or t
end

-- The refusal of a script that found flow key F[name] of type `held`, raised before its first
-- write: nothing of the call is done, and its caller's retry (a settle's, a promotion's) succeeds
-- once the key is of its type again or gone.
local function flowTypeError(F, name, held)
  flowKeyTypeError(F[name], held, FLOW_KEY_TYPES[name])
end

-- Checks the flow keys `names` (default: all ten above) hold their types or nothing, before the
-- script's first write (see the header): one TYPE each. Another type refuses the call
-- (flowTypeError), but in F.entered, which reads as none: it is deleted (after every other check,
-- so a refused call writes nothing), and its waiting tasks' entry times go with it (the oldest
-- waiting age reads the stream's alone until they are written again). The answers also tell
-- what the lookups below would ask first: whether the room, the ring, F.parked and F.starts
-- exist (roomEmpty, ringEmpty, parkedEmpty, rateGiveBack), so a settle does not ask again.
local function flowCheckKeys(F, names)
  local found, foreignEntered = {}, false
  for _, name in ipairs(names or FLOW_KEY_NAMES) do
    local t = keyType(F[name])
    if t ~= 'none' and t ~= FLOW_KEY_TYPES[name] then
      if name ~= 'entered' then flowTypeError(F, name, t) end
      foreignEntered = true
    end
    found[name] = t
  end
  if found.room then roomKnownEmpty = found.room == 'none' end
  if found.ring == 'none' then ringKnownEmpty = true end
  if found.parked then parkedKnownEmpty = found.parked == 'none' end
  if found.starts then rateStartsExist = found.starts ~= 'none' end
  if foreignEntered then rcall('DEL', F.entered) end
end

-- For a settle about to release flow runs, before its first write: every flow key holds its
-- type or nothing (flowCheckKeys), one TYPE each per call, whatever the batch's size. Its
-- answers stand in for the first lookups of the releases (the room, ring, parked and starts
-- existence checks), so a batch pays about six commands more, not one per run.
local function flowCheckSettle(F) flowCheckKeys(F) end

-- Whether an admission's XADD was refused in this call: a stream out of ids (its last id the
-- largest there is, which anyone with Redis access can XSETID) refuses every `XADD *`. A waiting
-- task's admission runs inside a settle or a promotion, after their own writes (an ack, a
-- retry's removal of the entry), and Redis does not roll a script back: refused there, it failed
-- the settle after its ack (a retry never scheduled, the run's slot never given back) with the
-- task already out of the room. So that XADD is caught: the task waits on (admitMember takes it
-- out of the room only once appended), the caller's release goes on, no other admission is tried
-- in the call, and a wake (FEED_RETRY_MS on) has a promotion feed the ring again. It holds
-- Redis's error text (false while none was refused); noteRefusedAdmission records it for the
-- health check, and promote.lua answers it so its worker warns.
local streamRefused = false
local FEED_RETRY_MS = 1000
-- How long F.refused outlives the last refused try: tries come a wake (FEED_RETRY_MS) apart
-- while the stream refuses, so it lasts through two late ones, and a streak is over this long
-- after the try that admitted the task, whichever worker made it.
local REFUSED_TTL_MS = 3 * FEED_RETRY_MS
-- The tries of the partition's streak so far, this one counted (0 while none was refused).
local refusedTries = 0

-- Records a refused admission in F.refused: the streak's first try (kept from the record, while
-- it lives), this one, the tries and Redis's error, all in Redis ms, with a TTL. One record per
-- partition, whichever worker's settle or promotion made the try: the health check of every
-- worker reads it (down once the streak spans 5 s), and it ends by itself once no try is refused,
-- however the task got in. A record of another type, one that does not parse, or one no try
-- could have left (anyone with Redis access can write one; a master's clock may run ahead of its
-- replica's) starts a streak anew: SET replaces it. Its first and tries are kept only when its
-- first is no later than its last, and its last no later than now and at most REFUSED_TTL_MS
-- ago: a first in the future, kept and renewed at every try, read as no streak for good (the
-- health check takes first > last for none), and a stale one as a streak of years.
local function noteRefusedAdmission(F, message)
  local ok, before = pcall(rcall, 'GET', F.refused)
  local first, last, tries = string.match(ok and before or '', '^(%d+) (%d+) (%d+) ')
  local now = rateNow()
  first, last, tries = storedCount(first), storedCount(last), storedCount(tries)
  if not (first and last and tries and first <= last and last <= now and now - last <= REFUSED_TTL_MS) then
    first, tries = now, 0
  end
  refusedTries = tries + 1
  rcall('SET', F.refused, string.format('%d %d %d ', first, now, refusedTries) .. message, 'PX', REFUSED_TTL_MS)
end

-- admissionAppend(F, stream, waiting, ...): the admission's `XADD <stream> * ...`, its entry id;
-- for a waiting task (`waiting`), nil when Redis refuses it (streamRefused set, the refusal
-- recorded). Any other admission (an enqueue's, a due retry's, a redrive's) is the caller's
-- first write: its refusal refuses it. The append that succeeds sends nothing more.
local function admissionAppend(F, stream, waiting, ...)
  if not waiting then return rcall('XADD', stream, '*', ...) end
  local ok, entryId = pcall(rcall, 'XADD', stream, '*', ...)
  if ok then return entryId end
  streamRefused = type(entryId) == 'table' and entryId.err or tostring(entryId)
  noteRefusedAdmission(F, streamRefused)
  return nil
end

-- Takes the slots and appends the entry to the stream: the one way into the stream for a run
-- that holds slots. `fields` are its stream fields: a flat list, or a room member's JSON text of
-- them, appended as it is (a packed entry, see message.lua: decoding it cost a settle more than
-- the rest of an admission) unless the run needs field rl added (rates). Returns its entry id and
-- the group's count of held runs after it; nil, taking nothing, for JSON text that must be
-- decoded and is not a field list (fieldList).
-- `handedOver` (a count) when the slots are those of a run of the same pair that the caller
-- released in this step without lowering the counts (flowRelease): they pass to this run, so
-- the counts stay as they are, and the group's count is `handedOver`.
-- `waiting`: the task waits in the room (admitMember): a refused XADD is caught (admissionAppend)
-- and nil returned, nothing taken.
local function flowAdmit(F, stream, id, name, group, fields, handedOver, waiting)
  local _, _, _, rates = flowLimits(F, name)
  local entryId
  if type(fields) == 'string' and not rates then
    -- The task id and fl flat, ahead of the packed rest: they win over its copies, and an entry
    -- whose text does not decode is still one its dead-lettering releases (dead-letter.lua).
    entryId = admissionAppend(F, stream, waiting, 'id', id, 'fl', '1', 'j', fields)
    if not entryId then return nil end
  else
    if type(fields) == 'string' then fields = fieldList(fields) end
    if not fields then return nil end
    entryId = admissionAppend(F, stream, waiting, unpack(rates and rateMarked(fields) or fields))
    if not entryId then return nil end
    if rates then rateTake(F, rates, name, group, entryId) end
  end
  flowWrites.set(F, id, entryId .. '\0' .. name .. '\0' .. group)
  if handedOver then return entryId, handedOver end
  bump(F, name, 1)
  return entryId, bump(F, name .. '\0' .. group, 1)
end

-- Admits `member`, the pair's best waiting task (the caller checked its slots). Returns its
-- entry id and the group's count of held runs after it; nil for a member that is not one
-- flowEnter wrote (no task id and fields, or fields flowAdmit had to decode and could not). It
-- is dropped with its wait (so its id may enter again), never an error mid-settle, which would
-- leave the settle's other writes half done.
-- A stream that refuses the XADD (streamRefused) leaves it waiting, its member and entry time
-- kept: nil, and a wake RATE_MORE FEED_RETRY_MS on (no notice: the promoters read it at their
-- next pass), whose promotion feeds the ring again (one try a second while the stream refuses).
local function admitMember(F, stream, pair, member, name, group, handedOver)
  if streamRefused then return nil end
  -- The fields follow the member's last NUL (JSON text holds none); the task id precedes it, NULs
  -- and all (a foreign producer's id may hold one).
  local idAt = #pair + 35
  local cut, next = nil, strFind(member, '\0', idAt, true)
  while next do cut, next = next, strFind(member, '\0', next + 1, true) end
  local id = cut and cut >= idAt and strSub(member, idAt, cut - 1)
  local entryId, held
  if id and id ~= '' and cut < #member then
    entryId, held = flowAdmit(F, stream, id, name, group, strSub(member, cut + 1), handedOver, true)
    if streamRefused then
      rcall('ZADD', F.wake, 'LT', rateNow() + FEED_RETRY_MS, RATE_MORE)
      return nil
    end
  end
  -- Out of the room once appended (or dropped); its entry time leaves with it.
  rcall('ZREM', F.room, member)
  if id then flowWrites.unenter(F, id) end
  if entryId then return entryId, held end
  if id == '' then id = nil end
  local state = id and flowWrites.get(F, id)
  if state and string.byte(state, 1) == 0 then
    flowWrites.del(F, id)
  end
  return nil
end

local function splitPair(pair)
  local cut = strFind(pair, '\0', 1, true)
  return strSub(pair, 1, cut - 1), strSub(pair, cut + 1)
end

-- Pairs waiting for their task's global slot are PARKED off the ring, in F.parked under
-- '\0<name>\0<seq, 16 digits>\0<group>' (rate.lua's members start with the name, which is
-- never empty and has no NUL, so the two never meet): left in the ring, every feed (the settle
-- of any task's run, an enqueue that waits, a wake) popped and pushed back each of them, two
-- commands per waiting group of a task at its limit. They stay in F.ringed, so a release or an
-- enqueue of their group does not ring them early, and come back, in the order they were
-- parked, when the task frees a slot (globalUnpark).
local function globalParkedPrefix(name) return '\0' .. name .. '\0' end

local function globalPark(F, pair, name) parkPair(F, globalParkedPrefix(name), pair, name) end

-- The first pair of task `name` parked for a global slot, with its member; nil when none is.
local function globalParkedHead(F, name)
  if parkedEmpty(F) then return nil end
  local prefix = globalParkedPrefix(name)
  local head = rcall('ZRANGEBYLEX', F.parked, '[' .. prefix, '[' .. prefix .. '\255', 'LIMIT', '0', '1')[1]
  if not head then return nil end
  return name .. strSub(head, #prefix + 17), head
end

-- Serves one pair at its turn (popped from the ring, or unparked): admits its best waiting task
-- when its slots and tokens allow, and rings it again if more of it may run; else it leaves the
-- ring (nothing waits, or its own group is full: its group's release rings it again), parks for
-- its task's global slot, or waits for a rate token (rateHold). Returns true when it admitted.
local function servePair(F, stream, pair)
  -- A pair holds a NUL: one without, pushed into the ring or parked by anyone with Redis access,
  -- names no task and goes (splitPair would fail the settle or promotion that popped it).
  if not strFind(pair, '\0', 1, true) then return false end
  local name, group = splitPair(pair)
  local best = bestOf(F, pair)
  if not best or not groupFree(F, name, group) then
    rcall('SREM', F.ringed, pair)
  elseif not globalFree(F, name) then
    globalPark(F, pair, name)
  elseif rateHold(F, pair, select(4, flowLimits(F, name)), name, group) then
    -- it waits for a rate token: rateHold parked it or took it out, with its wake
  else
    local entryId, held = admitMember(F, stream, pair, best, name, group)
    -- A member dropped (its fields do not decode) took nothing: the next one is served in its
    -- place, or a free slot would wait for the next feed beside it. A refused stream admits none.
    while not entryId and not streamRefused do
      best = bestOf(F, pair)
      if not best then break end
      entryId, held = admitMember(F, stream, pair, best, name, group)
    end
    local _, groupLimit = flowLimits(F, name)
    if (groupLimit == 0 or (held or 0) < groupLimit) and pairWaits(F, pair) then
      ringPush(F, pair)
    else
      rcall('SREM', F.ringed, pair)
    end
    return entryId ~= nil
  end
  return false
end

-- Feeds the stream from the ring: at most `budget` admissions, and one pass over the ring at
-- most, so a settle does bounded work. Returns the number admitted. A refused stream
-- (streamRefused) ends it: the pairs left would be popped and pushed back, none admitted, a pass
-- over every waiting group at each settle while the stream refuses.
local function flowFeed(F, stream, budget)
  if streamRefused then return 0 end
  local admitted, tries = 0, rcall('LLEN', F.ring)
  while admitted < budget and tries > 0 and not streamRefused do
    tries = tries - 1
    if servePair(F, stream, rcall('LPOP', F.ring)) then admitted = admitted + 1 end
  end
  return admitted
end

-- Task `name` may have free global slots: its parked pairs are served from the head of their
-- line (they had their turn when it was full) while it has a free slot, at most `budget`
-- admissions. A pair served without an admission (nothing left to run, its group full, a rate
-- window full) leaves the line, so the next one is served in its place: no slot stays idle
-- while a pair of the task waits for one. Returns the number admitted.
-- A stream that refused an admission in this call (streamRefused) stops it: the pairs left keep
-- their place in the line, and the task gets the wake of a feed that stopped (FEED_MORE), due when
-- the refusal's own is (FEED_RETRY_MS on). That wake alone feeds the ring only: a slot freed by a
-- later release of the same settle batch idled beside the parked pairs once the stream took ids.
local FEED_MORE = '\3'
local function globalUnpark(F, stream, name, budget)
  local admitted = 0
  while admitted < budget and globalFree(F, name) do
    local pair, member = globalParkedHead(F, name)
    if not pair then break end
    if streamRefused then
      rcall('ZADD', F.wake, 'LT', rateNow() + FEED_RETRY_MS, FEED_MORE .. name)
      break
    end
    rcall('ZREM', F.parked, member)
    if servePair(F, stream, pair) then admitted = admitted + 1 end
  end
  return admitted
end

-- Releases the slots that stream entry `entryId` of task `id` holds, if it holds any, then
-- feeds as many waiting tasks as it freed (one run frees one slot of each kind). Returns true
-- when it released. `held`: the task's record in F.tasks when the caller read it (false for
-- none: flowWrites.prefetch), else it is read here.
local function flowRelease(F, stream, id, entryId, held)
  if held == nil then held = rcall('HGET', F.tasks, id) end
  local pair, name, group = heldPair(held, entryId)
  if not pair then return false end
  flowWrites.del(F, id)
  local globalLimit, groupLimit, _, rated, changed = flowLimits(F, name)
  -- Whatever the limits recorded now: markers taken under an earlier record must not outlive
  -- their entry (they would hold the window's tokens for good).
  rateGiveBack(F, name, group, entryId)
  -- Its global slot is free again: pairs parked for one had their turn first (they are served
  -- before this pair's next task; its group slot goes to the ring below).
  if globalLimit > 0 and globalParkedHead(F, name) then
    bump(F, name, -1)
    local groupHeld = bump(F, pair, -1)
    globalUnpark(F, stream, name, 1)
    if (groupLimit == 0 or groupHeld < groupLimit) and pairWaits(F, pair) then ringAdd(F, pair) end
    if globalFree(F, name) then flowFeed(F, stream, 1) end
    return true
  end
  -- Its group slot is free again: the pair, if it has waiting tasks, is served in its turn.
  local best = bestOf(F, pair)
  if best and not rated and ringEmpty(F) then
    -- No other pair waits in the ring: its turn is now. The same admission as flowFeed's, without
    -- the ring's round trip (the common case of a busy group whose own run settled). A task with
    -- rates takes flowFeed's way, whose rate check sets the wake. The counts still include the
    -- released run: when they allow the next one, its slots pass to it and no count is written.
    -- A pair with waiting tasks is out of the ring only while its group holds its limit (or
    -- parked: the branch above, or rated), so under a group limit not CHANGED since, the group
    -- holds exactly its limit and its count need not be read.
    local groupHeld = (groupLimit > 0 and not changed) and groupLimit or countOf(F, pair)
    if groupHeld >= 1 and (groupLimit == 0 or groupHeld - 1 < groupLimit)
        and (globalLimit == 0 or countOf(F, name) - 1 < globalLimit) then
      local admitted, nowHeld = admitMember(F, stream, pair, best, name, group, groupHeld)
      if admitted then
        -- A group with room left (a limit raised since it filled) gets its turn at once: the
        -- ring held no other pair, so the feed serves this one.
        if (groupLimit == 0 or nowHeld < groupLimit) and pairWaits(F, pair) then
          ringAdd(F, pair)
          flowFeed(F, stream, 1)
        end
        return true
      end
      -- A member that does not decode, dropped: nothing passed, so the run's slots are released
      -- below, and the pair waits on if more of it does.
      best = pairWaits(F, pair)
    end
  end
  bump(F, name, -1)
  bump(F, pair, -1)
  if best then ringAdd(F, pair) end
  -- An empty ring feeds nothing (the common case of a limit that does not bind).
  if not ringEmpty(F) then flowFeed(F, stream, 1) end
  return true
end

-- A priority as a worker reads one (an integer from 1 to 10: task-message.ts), else 5. Lua's
-- tonumber also reads 'nan', which no range check refuses: a rank of NaN is written with 20
-- characters, not 16, sorts ahead of its whole pair, and the member's task id is then cut from
-- the wrong place (admitMember, roomMemberId). A fraction ranked as its floor unlike its reader.
local function flowPriority(value)
  local text = tostring(value or '')
  local level = #text <= 16 and strFind(text, '^%d+$') and tonumber(text)
  return (level and level >= 1 and level <= 10) and level or 5
end

-- A task going through admission (enqueue, a due retry, a redrive): admitted at once when its
-- slots are free and nothing of its pair waits (so order holds), else it waits in the room,
-- ranked `now + (priority - 1) * aging`, its entry time `now`. `fields` are its stream fields;
-- `priority` its field pr as it came (flowPriority). `now` is when it joined the line (Redis ms),
-- not when this script runs: a plain entry moved in by a worker gives its XADD's time. Returns
-- the entry id, or '' when it waits. Its caller asked isRoomTaskText (task-text.lua) first: the
-- room takes no task its listing cannot page over.
local function flowEnter(F, stream, id, name, group, priority, fields, now)
  priority = flowPriority(priority)
  -- A NUL separates a pair's name and group and a member's parts: none comes from an enqueue, but
  -- a foreign entry's may (redriven, or retried and due): made \1, the same way wherever it
  -- enters, so its pair is its own (it would match another group's prefix and leak its slot).
  if strFind(name, '\0', 1, true) then name = (string.gsub(name, '%z', '\1')) end
  if strFind(group, '\0', 1, true) then group = (string.gsub(group, '%z', '\1')) end
  -- A task id admitted or waiting already (an enqueue resent after a dropped connection, a
  -- duplicate plain entry moved in): the same answer, nothing taken twice. A retry or a redrive
  -- comes back only after its release, so its id is in neither.
  local state = flowWrites.get(F, id)
  if state then
    if string.byte(state, 1) == 0 then return '' end
    return strSub(state, 1, strFind(state, '\0', 1, true) - 1)
  end
  local pair = name .. '\0' .. group
  local rates = select(4, flowLimits(F, name))
  -- The task's wake is read even when its pair waits: a later one than any script sets falls due.
  local wakeRead, queuedAt = false, nil
  if groupFree(F, name, group) and globalFree(F, name) then
    wakeRead, queuedAt = true, rateQueuedAt(F, rates, name)
    if not queuedAt and not pairWaits(F, pair) and not rateFullWindow(F, rates, name, group) then
      return flowAdmit(F, stream, id, name, group, fields)
    end
  end
  -- It waits: pairs of its task parked for a wake that is gone are woken (rateWakeParked).
  if not queuedAt then rateWakeParked(F, rates, name, wakeRead) end
  local _, _, aging = flowLimits(F, name)
  -- Equal ranks (one millisecond, one priority) keep arrival order: a sequence follows the rank.
  local arrival = nextSequence(F, '\0arrivals')
  local rank = string.format('%016d%016d', now + (priority - 1) * aging, arrival)
  rcall('ZADD', F.room, '0', pair .. '\0' .. rank .. '\0' .. id .. '\0' .. cjson.encode(fields))
  roomKnownEmpty = false
  flowWrites.set(F, id, '\0' .. pair .. '\0' .. rank)
  rcall('ZADD', F.entered, now, id)
  -- Entry times an older version's admission left behind (it knows nothing of F.entered) are the
  -- oldest: the next two go with each task that enters, so they never outlast an upgrade for long.
  for _, left in ipairs(rcall('ZRANGE', F.entered, '0', '1')) do
    local leftState = flowWrites.get(F, left)
    if not (leftState and string.byte(leftState, 1) == 0) then rcall('ZREM', F.entered, left) end
  end
  if groupFree(F, name, group) then
    ringAdd(F, pair)
    -- Slots free behind a waiting pair (limits raised since): start what they allow.
    if globalFree(F, name) then flowFeed(F, stream, 1) end
  end
  return ''
end

-- Rings the pairs of task `name` with waiting tasks and a free group slot, the first
-- RING_SCAN_PAIRS of them in group order. A pair whose group was full left the ring, and only its
-- own group's release rang it again: after a raised groupConcurrency it would idle beside the new
-- slot until then. One lex lookup per waiting pair, only when a change raised the group limit;
-- bounded, so an enqueue during a rolling deploy (definitions that flip the limits) stays cheap
-- however many groups wait: the groups past the bound fill at their next settle.
local function ringWaitingPairs(F, name)
  local RING_SCAN_PAIRS = 100
  if roomEmpty(F) then return end
  local from = '[' .. name .. '\0'
  for _ = 1, RING_SCAN_PAIRS do
    local member = rcall('ZRANGEBYLEX', F.room, from, '[' .. name .. '\0\255', 'LIMIT', '0', '1')[1]
    -- Groups hold no NUL (flowEnter sees to it): the pair ends at the NUL after the name's.
    local rankAt = member and strFind(member, '\0', #name + 2, true)
    if not rankAt then return end
    local pair = strSub(member, 1, rankAt - 1)
    if groupFree(F, name, strSub(pair, #name + 2)) then ringAdd(F, pair) end
    from = '(' .. pair .. '\0\255'
  end
end

-- Changed rates put the pairs waiting for the old windows back in the ring, as their wakes would:
-- else a raised rate admitted nothing until the old window's wake, perMs away (perMs + 60 s for a
-- window of unstarted tokens), and newcomers queued behind that wake. The pairs parked for the
-- task's window go back to the ring's head, in their order, when the new window has a token (if
-- it has none, its wake only comes forward to when it frees one: unparked, they would all park
-- again, a pass over every parked pair at each enqueue of a rolling deploy); those out of the
-- ring for a group window are rung by ringWaitingPairs (bounded), in flowFeedAll. The feed
-- checks the new windows: a pair still over one waits again, with its wake.
local function rateServeChanged(F, name)
  if taskRateChanged[name] and not parkedEmpty(F) then
    local rates = select(4, flowLimits(F, name))
    local win = rates and rates.max > 0 and rateWindows(rates, name, '')[1]
    if not win or rateCount(F, win, rateNow()) < win.max then
      rcall('ZREM', F.wake, name)
      rateUnpark(F, name)
      ringKnownEmpty = false
    else
      rateWakeNoLater(F, name, rateNow() + rateWaitMs(F, win, rateNow()))
    end
  end
end

-- Feeds after task `name`'s limits changed (or a wake '\3<name>' that goes on with it): rings its
-- waiting pairs that have room now (after a raised groupConcurrency, or changed rates), serves its
-- pairs parked for a global slot, then passes over the ring while they admit, at most `budget` in
-- all. Stopped on its budget, it leaves a due wake ('\3<name>', or '\2' without a name): the next
-- promotion goes on at once. Without `name` (a wake), it only passes over the ring.
local function flowFeedAll(F, stream, budget, name)
  if name then rateServeChanged(F, name) end
  if name and (groupRaised[name] or groupRateChanged[name]) then ringWaitingPairs(F, name) end
  local admitted = name and globalUnpark(F, stream, name, budget) or 0
  while admitted < budget do
    local n = flowFeed(F, stream, budget - admitted)
    if n == 0 then break end
    admitted = admitted + n
  end
  -- Stopped on its budget: a task's own feed leaves a wake naming it, so the next promotion goes
  -- on with its parked pairs too (a lifted globalConcurrency frees no slot by a release).
  if admitted >= budget then rateWake(F, name and FEED_MORE .. name or RATE_MORE, rateNow()) end
  return admitted
end

-- Whether task `id` waits in the room (remove by id), and its room member (nil when the room
-- lost it), read before any write of the caller: its removal is flowUnwait's.
local function flowWaiting(F, id)
  local state = flowWrites.get(F, id)
  if not state or string.byte(state, 1) ~= 0 then return false end
  local prefix = strSub(state, 2) .. '\0' .. id .. '\0'
  return true, rcall('ZRANGEBYLEX', F.room, '[' .. prefix, '(' .. prefix .. '\255', 'LIMIT', '0', '1')[1]
end

-- Removes waiting task `id`, its room member `member` as flowWaiting found it, from the room.
local function flowUnwait(F, id, member)
  if member then rcall('ZREM', F.room, member) end
  flowWrites.del(F, id)
  flowWrites.unenter(F, id)
end

-- Serves the wakes due by now (promote.lua): a pair whose group window was full goes back to
-- the ring, a task's feed stopped on its budget goes on, then the ring is fed as far as the
-- windows and slots allow (a pair still over a rate gets its next wake). Returns the number
-- admitted.
local function flowServeWakes(F, stream, budget)
  local due = rcall('ZRANGEBYSCORE', F.wake, '-inf', rateNow())
  if #due == 0 then return 0 end
  local named = {}
  for _, member in ipairs(due) do
    rcall('ZREM', F.wake, member)
    if member == RATE_MORE then
      -- nothing of its own: the feed below goes on where the last one stopped
    elseif string.byte(member, 1) == 3 then
      named[#named + 1] = strSub(member, 2)
    elseif not strFind(member, '\0', 1, true) then
      rateUnpark(F, member)
      ringKnownEmpty = false
    elseif pairWaits(F, member) then
      ringAdd(F, member)
    end
  end
  local admitted = 0
  for _, name in ipairs(named) do admitted = admitted + flowFeedAll(F, stream, budget - admitted, name) end
  return admitted + flowFeedAll(F, stream, budget - admitted)
end

--[[
  Redrive one dead letter: put its task back in the stream, same task id, attempt 1, with the
  enqueue's trace context (field t) when it has one, so its run stays in the enqueue's trace.
  KEYS: dead letters, stream, result key, sequence, call record, [key state], flow keys. ARGV:
  dead-letter entry id, task id, key, record TTL, whether the partition is not the ungrouped
  group's (details below).
  KEYS[1] dead-letter stream
  KEYS[2] stream
  KEYS[3] result key of the task
  KEYS[4] the queue's sequence (a keyed task's new generation is drawn from it)
  KEYS[5] the call's record (includes/call-record.lua): a resend of a redrive that ran answers
          as it did (the entry id it redrove the task under), not 'no such dead letter'
  KEYS[6] key state hash (keyed tasks only)
  KEYS[last 11] the partition's flow keys (see includes/flow.lua): a task under flow control
          (field fl) goes through admission, keeping its group and priority, so a redrive never
          runs it outside its limits
  ARGV[1] dead-letter entry id; ARGV[2] task id the result key was derived from; ARGV[3] key the
  key state was derived from ('' none); the keys are used only when the entry names the same.
  ARGV[4] how long the call's record is kept, in ms (0: none)
  ARGV[5] '1' when this partition is not the ungrouped group's under the caller's partition count
          (partitionOfGroup), else '' or absent

  Returns {code, stream entry id ('' when a flow task waits in the room), generation}: 1 redriven; 0 no such dead letter (redriven,
  purged, trimmed, or never there); -1 not a task (fields missing: a raw member, a malformed
  entry; or an id, name or group a worker would not take: includes/task-text.lua); -2 the key moved on (its state names another task): kept;
  -3 an ungrouped flow task whose limits recorded here have a group limit (groupConcurrency or
  groupRateLimit), in a partition other than the ungrouped group's (ARGV[5]): admitted here its
  runs would be counted apart from the group's, above its limit, and its id names this partition
  (a move to another is no atomic step on a cluster): kept; -4 the key state names this task
  cancelled (a cancel() or remove() ended it, maybe while the dead-lettered run ran: its stale
  dead letter still records the run): kept, it must not run again; -5 the task was redriven
  already from another dead letter of it (a copy: anyone can write a dead letter) or runs again
  otherwise (a retry): its key state names it live or completed, or (an unkeyed task) its result
  key holds the unsettled marker or a stored success: kept, a task redriven twice would run twice
  (an unkeyed task whose stored result expired, or was never stored, is not recognised).
  Nothing written unless 1
  but the call's record; the recorded reply, before any check, when KEYS[5] holds one (a resend).
  The XADD (or a flow task's admission) is the first write but a keyed task's draw (the
  sequence alone) and the replacement of a key state that is not a hash: a stream out of ids (its
  last id the largest there is: XSETID) refuses the redrive there, the dead letter, the stored
  failure and the key state as they were.
  Atomic: the key check, the new generation, the XADD, the removal from the dead letters and
  the call's record are one step, so a dead letter is redriven once, and never beside a live
  run of its key. A flow key of another type (includes/flow.lua) refuses a flow task's redrive,
  WRONGTYPE naming the key, before any write, and so does a stream of another type (read by
  XLEN: Redis does not roll a script back), and a keyed task's sequence that its draw would
  pass 2^53-1 or INCR would refuse (one GET: sequenceCheck in includes/key-state.lua). It sends
  no notice.
  Either way its result key is marked unsettled ({"ok":null}, for a day, as a retry's), so a
  result() that heard its failure waits for the new run; the new run's settle replaces it.
  A keyed task is redriven only when its key state is gone (expired, or not a hash: it reads as
  none and is replaced) or still names this task, failed (not live, completed or cancelled):
  a newer run of the key (a replace, a periodic successor) must never be followed by an older,
  and a cancelled task never runs again. A dead letter whose last pair is 'stale' (dead-letter.lua
  wrote it for a run its key had cancelled or superseded) is refused as that says, -4 or -2,
  also once its key state has expired (one written before that pair existed is judged by its key
  state alone: once that expired, nothing tells the cancel any more).
]]
-- @include rcall
-- @include now-ms
-- @include key-state
-- @include dead-letter-entry
-- @include message
-- @include task-text
-- @include flow
-- @include call-record

local dlq, stream, resultKey, seq, record = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
-- KEYS[6] is a keyed task's key state when KEYS holds it beside the five above and the
-- flow keys that close KEYS (an unkeyed task's KEYS[6] is the first flow key).
local keyState = #KEYS == 6 + FLOW_KEY_COUNT and KEYS[6] or nil
local deadId, derivedId, derivedKey, recordTtl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local PENDING_MARKER, MARKER_TTL_MS = '{"ok":null}', 86400000

-- reply(code, mid, gen): the call's reply, recorded for a resend. The generation is written as
-- the integer it is: `tostring` prints 14 significant digits, rounding one of 1e14 or more.
local function reply(code, mid, gen)
  recordAnswer(record, recordTtl, cjson.encode({code, mid, string.format('%d', gen)}))
  return {code, mid, gen}
end
local recorded = recordedAnswer(record)
if recorded then
  local r = cjson.decode(recorded)
  return {r[1], r[2], tonumber(r[3])}
end

local entry = rcall('XRANGE', dlq, deadId, deadId)[1]
if not entry then return reply(0, '', 0) end
local f = entryFields(entry[2])
local id, name, payload, key = fieldOf(f, 'id'), fieldOf(f, 'n'), fieldOf(f, 'p'), fieldOf(f, 'k')
if not id or not name or name == '' or not payload or id ~= derivedId or (key or '') ~= derivedKey then
  return reply(-1, '', 0)
end
-- Anyone can write a dead letter: an id, name or group a worker would not take is refused (a flow
-- task would wait in the room under a member the queued listing cannot page over: task-text.lua).
local isFlow = fieldOf(f, 'fl') == '1' and not key
if not isRoomTaskText(id, name, isFlow and fieldOf(f, 'gr') or '') then return reply(-1, '', 0) end
-- The dead letter of a stale run says so in its last pair (dead-letter.lua): refused for good,
-- whatever its key state says now (expired, it would say nothing).
local raw = entry[2]
if key and raw[#raw - 1] == 'stale' then return reply(raw[#raw] == 'cancelled' and -4 or -2, '', 0) end
-- A flow key of another type refuses the redrive before its first write (includes/flow.lua).
if isFlow then flowCheckKeys(flowKeysAtEnd()) end
-- An ungrouped task dead-lettered in a partition other than the ungrouped group's (spread there
-- before a deploy gave it a group limit) stays: admitted here its runs would be counted apart
-- from the group's runs in that partition, above the group's limit.
if isFlow and ARGV[5] == '1' and (fieldOf(f, 'gr') or '') == '' then
  local _, groupLimit, _, rates = flowLimits(flowKeysAtEnd(), name)
  if groupLimit > 0 or (rates and rates.gmax > 0) then return reply(-3, '', 0) end
end
-- The stream, read before the first write: one of another type (anyone can make one) refuses
-- the redrive here, not at its XADD after the task's result key was marked not settled (its
-- stored failure lost: result() waited) or its key's generation drawn. So does, for a keyed
-- task, a sequence whose draw would be refused (sequenceCheck: past 2^53-1, or no integer):
-- the draw follows the replacement of a key state that is not a hash.
rcall('XLEN', stream)
if key then sequenceCheck(seq, 1) end

local fields = {'id', id, 'n', name, 'p', payload, 'a', '1'}
local gen = 0
local now = nowMs()
if key then
  -- A key state that is not a hash (`SET <key state> x`) reads as gone: a fresh state replaces it.
  dropForeignState(keyState)
  local state, holder = unpack(rcall('HMGET', keyState, 'state', 'id'))
  if state and holder ~= id then return reply(-2, '', 0) end
  -- The state names this task: live (a copy of its dead letter redriven already, or a retry of
  -- it waits) or completed since, it must not run twice.
  if state == 'queued' or state == 'delayed' or state == 'running' or state == 'completed' then
    return reply(-5, '', 0)
  end
  -- Its key state names it cancelled (cancel() or remove() ended it: xid): the dead letter is of
  -- a run the user cancelled (dead-lettered stale, as poison, after the cancel while it ran; or
  -- a second dead letter of it), which must never run again. Its result() reads cancelled still.
  if state == 'cancelled' then return reply(-4, '', 0) end
  -- The draw writes the sequence alone (a skipped number if the XADD below refuses); the key
  -- state takes the generation after the XADD.
  gen = drawGeneration(seq, keyState)
  fields[#fields + 1] = 'k'; fields[#fields + 1] = key
  fields[#fields + 1] = 'g'; fields[#fields + 1] = string.format('%d', gen)
else
  -- Another dead letter of this task (a copy: anyone can write one) redriven already left its
  -- result key marked unsettled until that run settles, or the run completed since: redriven
  -- again it would run twice, at once even (no key keeps them apart). A failure stored there
  -- does not refuse it (a dead letter of that run stands beside this one). A result key of
  -- another type reads as none (the SET below replaces it).
  local read, held = pcall(rcall, 'GET', resultKey)
  if read and held and (held == PENDING_MARKER or string.sub(held, 1, 10) == '{"ok":true') then
    return reply(-5, '', 0)
  end
  -- Keep its result even when void (marked unsettled for result() after the XADD, below).
  fields[#fields + 1] = 'r'; fields[#fields + 1] = '1'
end
local trace = fieldOf(f, 't')
if trace then fields[#fields + 1] = 't'; fields[#fields + 1] = trace end
-- The task is appended before anything of it is rewritten: a stream that takes no id (its last
-- id the largest there is, which anyone can XSETID) refuses the redrive at this XADD, where it
-- refused it after the task's stored failure was marked unsettled (result() waited for good) or
-- its key's generation written. The dead letter is removed last.
local mid
if isFlow then
  -- Flow control: back through admission, with the group and priority it was enqueued with.
  fields[#fields + 1] = 'fl'; fields[#fields + 1] = '1'
  local group, priority = fieldOf(f, 'gr'), flowPriority(fieldOf(f, 'pr'))
  if group then fields[#fields + 1] = 'gr'; fields[#fields + 1] = group end
  -- Kept only as what it is ranked at (a pr of '2.5' or 'nan' is 5, without one).
  if tostring(priority) == fieldOf(f, 'pr') then fields[#fields + 1] = 'pr'; fields[#fields + 1] = tostring(priority) end
  mid = flowEnter(flowKeysAtEnd(), stream, id, name, group or '', priority, fields, now)
else
  mid = rcall('XADD', stream, '*', unpack(fields))
end
if key then
  -- xid: the task cancelled last. Its end is no longer that cancel when it is this one, which
  -- runs again; another task's stays (its result() still says cancelled).
  rcall('HDEL', keyState, 'dm', 'error', 'finishedAt', 'startedAt')
  if rcall('HGET', keyState, 'xid') == id then rcall('HDEL', keyState, 'xid') end
  rcall('HSET', keyState, 'gen', gen, 'state', 'queued', 'mid', mid, 'id', id, 'name', name, 'attempt', '1',
    'enqueuedAt', now, 'dueAt', now)
  rcall('PERSIST', keyState)
end
-- Its stored failure would answer result() at once: marked unsettled instead (as a retry of an
-- unkeyed task is), keyed or not, so a wait that heard the failure and reads after this waits
-- for the new run, also one that knows no key state (a handle by id alone). A keyed task's key
-- state answers past the marker (settled-state.lua): a cancel or replace of this run leaves it.
rcall('SET', resultKey, PENDING_MARKER, 'PX', MARKER_TTL_MS)
rcall('XDEL', dlq, deadId)
return reply(1, mid, gen)

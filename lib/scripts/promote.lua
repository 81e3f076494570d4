--[[
  KEYS: delayed set, stream, dead-letter stream, stranded cancels, a key state (and a result key)
  per keyed member. ARGV: dead-letter max length, most due members to look at, key state TTL,
  done channel, then member, key and task id per member (details below).
  Move due delayed tasks (retries, delayed enqueues, deferred runs) into the stream. The caller
  read the due members first (read-due.lua) to learn which key states they touch, and declares
  those here. Each member is re-checked: one no longer in the delayed set (another worker moved
  it, a replace or cancel removed it), no longer due (re-timed), or no longer among the first
  ARGV[2] due members (it moves at the next promotion) is skipped, so a member moves once. A
  superseded keyed member is dropped instead of appended (skipping stale generations), as is one
  whose key state is not a hash (it reads as none; the state is left as it is).

  KEYS[1] delayed set
  KEYS[2] stream
  KEYS[3] dead-letter stream (for a member that does not decode)
  KEYS[4] the partition's stranded cancels, a set of keys (see below)
  KEYS[5..] per member that names a key, in ARGV order: its key state hash, then its task's
          result key when the member names a task id too (ARGV, below)
  then, when a member is under flow control (field fl) or a rate limit's wake is due, the
  partition's flow keys (see includes/flow.lua): such a member goes through admission (a slot,
  or the waiting room, ranked from its due time: its score) rather than straight into the
  stream, so a retry or a delayed enqueue never bypasses a limit; and due wakes are served
  (rate.lua): the tasks waiting for a rate token that the windows now allow are admitted

  ARGV[1] dead-letter stream max length (approximate)
  ARGV[2] most due members to look at (the read's limit)
  ARGV[3] key state and result TTL in ms (a key ended by a dead letter, below; 0: neither kept)
  ARGV[4] done channel, told 'f:<task id>' when a dead letter ends a key's run
  ARGV[5..] per member, 3 values: the delayed member, the key it names ('' for none; a member
            whose decoded key differs is dead-lettered, as it cannot be checked), and the task
            id its result key was derived from ('' for none, and for a member without a key)

  A due member that is not UTF-8 text is dead-lettered whatever ARGV names: its caller read it
  as text, with U+FFFD for its bytes, and cannot name it. A member named twice moves once.
  A flow member that comes without the flow keys (its caller, reading it with JSON.parse, took
  it for none) is dead-lettered as not decoding, never admitted without them.
  A flow member whose id, name or group a worker would not take (includes/task-text.lua: an id
  or group not UTF-8 text or longer than its bound, a name no task can have) is dead-lettered
  with the reason, never put in the room:
  anyone can ZADD a delayed member, and the queued listing cannot page past such a task.
  A dead-lettered member that is a key's waiting run ends that key as dead-letter.lua ends a keyed
  dead letter: 'failed' with the reason, the running record of an older run (a replace() while it
  ran) left to its settle and the key recorded in the stranded cancels (as dead-letter.lua does),
  else the key state TTL ARGV[3]; its failure stored under the result key declared for its task
  id (named 'DeadLetter', as dead-letter.lua stores it; kept ARGV[3] ms, none when 0), and its
  waiters told 'f:<id>'. A waiter told 'f' reads that key: with none declared nor written it read
  "its error is not stored" where a later result() read the reason. It used to leave the state
  'delayed' (or 'queued', deferred) with no member and no TTL: status() pending for good, a
  waiter never told, cancel() cancelling a run already dead-lettered, the hash kept until the
  key's next enqueue. The member is the key's run only when the key state declared for it (its
  triple's key; for a member not UTF-8 text, whose triple names it otherwise, the triple whose
  key the member names) holds it: its exact text is the state's member (field dm), or it names
  the state's key, task id and generation (one above 0) while the state's own member is gone
  from the delayed set. A state whose member is still delayed, that stores a schedule (sk,
  every, rt: a chain's restore or next schedule() judges a run gone), or a member whose key its
  caller could not name (not UTF-8 text there too: no key state is declared) is left as it is.
  One TYPE and one HMGET (and a ZSCORE) per keyed member dead-lettered, nothing for one that
  moves; a key ended costs an HGET and an HDEL of its member (dm), endKeyedRun's commands
  (includes/end-run.lua: an HGET of its id, one HSET, its release; no TIME, the script's own
  serves it), the result's SET (or DEL) and its PUBLISH.

  Returns {members moved into the stream (and tasks a wake admitted), ms until the next member
  or wake is due (-1: none)}, so callers can wake exactly when the next one falls due; then, when
  the stream refused a waiting task's admission in this call (caught, the task left waiting, a
  wake a second on retries it, the refusal recorded in the flow key F.refused: includes/flow.lua),
  Redis's error text and the partition's refused tries so far, so the worker warns. Refused
  with WRONGTYPE, before any write, when the stream key holds another type (anyone can SET one):
  its XADD would fail the script after the ZREM of its member, lost. The members wait, due,
  until the key is deleted (the worker's next read creates the stream) or a stream again. So is
  a call with the flow keys when one of them holds another type (includes/flow.lua), naming it,
  and a call with a member to dead-letter when the dead-letter stream holds another type (one
  TYPE, only then: its XADD would fail the script after the member's ZREM, the member lost).
  A stream or dead-letter stream that takes no id (its last id the largest there is: XSETID)
  refuses the promotion at a member's XADD, which comes before that member's ZREM: the member
  stays delayed (the members before it moved or dropped whole, each its own step).
  Atomic: each member's check, removal and append are one step with the others.
]]
-- @include rcall
-- @include now-ms
-- @include key-state
-- @include message
-- @include task-text
-- @include end-run
-- @include flow
-- @include key-type
-- @include notice-check

local delayed, stream, dlq, strandedCancels = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local stateTtl, doneChannel = tonumber(ARGV[3]), ARGV[4]
streamCheckType(stream)
local now = nowMs()
-- The members due now, read once (the commands a queue's ACL already allows), with their due
-- times: a flow task joins the waiting room's line when it fell due, not when this promotion
-- got to it (no worker ran for a while, or a busy one), so it is ranked from its due time.
local due = {}
local read = rcall('ZRANGEBYSCORE', delayed, '-inf', now, 'WITHSCORES', 'LIMIT', '0', tonumber(ARGV[2]))
for i = 1, #read, 2 do
  due[read[i]] = math.floor(math.max(0, math.min(tonumber(read[i + 1]) or now, now)))
end
local moved = 0
-- The key state each member's triple declares (KEYS in ARGV order), by triple and by key, and the
-- result key of each task id declared with it. The flow keys close KEYS, after them: present
-- whenever the caller saw a flow member or a due wake.
local stateAt, stateOfKey, resultOfId, declared = {}, {}, {}, 0
for i = 5, #ARGV - 2, 3 do
  if ARGV[i + 1] ~= '' then
    declared = declared + 1
    stateAt[i] = KEYS[4 + declared]
    stateOfKey[ARGV[i + 1]] = stateAt[i]
    if ARGV[i + 2] ~= '' then
      declared = declared + 1
      resultOfId[ARGV[i + 2]] = KEYS[4 + declared]
    end
  end
end
local F = #KEYS == 4 + declared + FLOW_KEY_COUNT and flowKeysAtEnd() or nil
-- A flow key of another type refuses the promotion before its first write (includes/flow.lua).
if F then flowCheckKeys(F) end
-- Each due member's fate, decided before any write (from its text, ARGV and F alone): a member
-- named twice (two members the caller read as the same text) moves once; one no caller can name
-- (bytes that are not UTF-8 come back to it as U+FFFD) would stay due for ever, every promotion
-- answering "due now" for it, so it is dead-lettered. When any member goes to the dead-letter
-- stream, its type is read first (keyCheckType): one of another type refuses the promotion here,
-- every member still due, where its XADD used to fail after the member's ZREM (lost).
-- endingOf(member, m, keyState, key): the key run a dead-lettered `member` (decoded as `m`, or
-- nil) is, which its dead letter ends (see the header): {keyState, key, id, dm, olderRun, result
-- (the result key declared for its id, or nil)}, or nil.
-- Read before any write; a key state is ended once.
local ending = {}
local function endingOf(member, m, keyState, key)
  if not keyState or ending[keyState] or notAHash(keyState) then return nil end
  local state, dm, id, gen, rmid, sk, every, rt =
    unpack(rcall('HMGET', keyState, 'state', 'dm', 'id', 'gen', 'rmid', 'sk', 'every', 'rt'))
  if (state ~= 'delayed' and state ~= 'queued') or not dm or not id or sk or every or rt then return nil end
  if dm ~= member then
    if type(m) ~= 'table' or m.k ~= key or m.id ~= id then return nil end
    local g = storedGeneration(m.g)
    if not g or g == 0 or g ~= storedGeneration(gen) or rcall('ZSCORE', delayed, dm) then return nil end
  end
  ending[keyState] = true
  return {keyState = keyState, key = key, id = id, dm = dm, olderRun = rmid ~= false,
    result = resultOfId[id]}
end
local fates, named, unnamed, endings = {}, {}, {}, {}
local deadLetters = false
for i = 5, #ARGV - 2, 3 do
  local member, key = ARGV[i], ARGV[i + 1]
  if due[member] and not named[member] then
    named[member] = true
    local ok, m = pcall(cjson.decode, member)
    local reason = nil
    if not ok or not isTaskMember(m) then
      reason = 'delayed member does not decode'
    elseif (m.k or '') ~= key then
      reason = 'delayed member names another key'
    elseif m.fl == '1' and key == '' and not F then
      -- Read otherwise by the caller (cjson takes text JSON.parse refuses), which declared no flow
      -- keys: failing here would stop the batch.
      reason = 'delayed member does not decode'
    elseif m.fl == '1' and key == '' and not isRoomTaskText(m.id, m.n, m.gr or '') then
      reason = 'delayed member names a task id, name or group a worker does not take'
    end
    fates[i] = {m = m, reason = reason}
    if reason then fates[i].ends = endingOf(member, ok and m or nil, stateAt[i], key) end
    deadLetters = deadLetters or reason ~= nil
  end
end
for member in pairs(due) do
  if not named[member] and not isUtf8Text(member) then unnamed[#unnamed + 1] = member end
end
table.sort(unnamed)
for _, member in ipairs(unnamed) do
  local ok, m = pcall(cjson.decode, member)
  local key = ok and type(m) == 'table' and type(m.k) == 'string' and m.k or nil
  endings[member] = key and endingOf(member, m, stateOfKey[key], key) or nil
end
if deadLetters or #unnamed > 0 then keyCheckType(dlq, 'dead-letter stream', 'stream') end
-- A key a dead letter ends: its done channel and (with an older run still running) the stranded
-- cancels are checked before the first write too (an ACL refusing the channel, a set of another type).
local tellsEnd, strands = false, false
for _, fate in pairs(fates) do
  if fate.ends then tellsEnd = true; strands = strands or fate.ends.olderRun end
end
for _, e in pairs(endings) do tellsEnd = true; strands = strands or e.olderRun end
if tellsEnd then noticeCheck(doneChannel) end
if strands then rcall('SCARD', strandedCancels) end

-- endKey(e, reason): the key run `e` (endingOf) ends, dead-lettered for `reason`; unless a member
-- of the same task and generation (a copy) moved before it in this call, which took the key
-- (field dm dropped). One that comes after it is stale: the run it copies ended (ended). The
-- transition is endKeyedRun's (no successor: a state storing a schedule is never ended here); its
-- failure goes where a waiter told 'f' reads it, before the notice.
local ended = {}
local function endKey(e, reason)
  local target = e.keyState
  if rcall('HGET', target, 'dm') ~= e.dm then return end
  ended[target] = true
  rcall('HDEL', target, 'dm')
  endKeyedRun(target, delayed, nil, '', e.id, 'failed', reason, stateTtl, nil, now)
  if e.olderRun then rcall('SADD', strandedCancels, e.key) end
  local resultKey = e.result
  if resultKey then
    local failure = cjson.encode({ok = false, error = {name = 'DeadLetter', message = reason}})
    if stateTtl > 0 then rcall('SET', resultKey, failure, 'PX', stateTtl) else rcall('DEL', resultKey) end
  end
  rcall('PUBLISH', doneChannel, 'f:' .. e.id)
end

for i = 5, #ARGV - 2, 3 do
  local member, keyState = ARGV[i], stateAt[i]
  local fate = fates[i]
  -- Each member is appended (XADD) before its ZREM: a stream that takes no id (its last one the
  -- largest there is, which anyone can XSETID) refuses the promotion at that XADD, the member
  -- still delayed, where it was lost after its ZREM. A flow member's admission appends first
  -- too (flowAdmit), or it waits in the room: no XADD.
  if fate then
    local m = fate.m
    if fate.reason then
      rcall('XADD', dlq, 'MAXLEN', '~', ARGV[1], '*', 'raw', member, 'reason', fate.reason)
    elseif m.fl == '1' and not keyState then
      flowEnter(F, stream, m.id, m.n, m.gr or '', m.pr, toFields(m), due[member])
      moved = moved + 1
    -- A key state that is not a hash reads as none (its HMGET's WRONGTYPE failed the whole
    -- promotion): the member is stale, dropped, and the state left as it is.
    elseif not (keyState and (ended[keyState] or notAHash(keyState) or isStale(keyState, tonumber(m.g) or 0, m.id))) then
      local mid = rcall('XADD', stream, '*', unpack(toFields(m)))
      if keyState then
        rcall('HSET', keyState, 'state', 'queued', 'mid', mid)
        rcall('HDEL', keyState, 'dm')
      end
      moved = moved + 1
    end
    rcall('ZREM', delayed, member)
    if fate.ends then endKey(fate.ends, fate.reason) end
  end
end
for _, member in ipairs(unnamed) do
  rcall('XADD', dlq, 'MAXLEN', '~', ARGV[1], '*', 'raw', member, 'reason', 'delayed member is not UTF-8 text')
  rcall('ZREM', delayed, member)
  if endings[member] then endKey(endings[member], 'delayed member is not UTF-8 text') end
end
if F then moved = moved + flowServeWakes(F, stream, 1000) end
local next = tonumber(rcall('ZRANGE', delayed, '0', '0', 'WITHSCORES')[2])
local wakeAt = F and tonumber(rcall('ZRANGE', F.wake, '0', '0', 'WITHSCORES')[2])
if wakeAt and (not next or wakeAt < next) then next = wakeAt end
local nextMs = next and math.max(0, next - now) or -1
-- A waiting task's admission refused (caught and recorded: see includes/flow.lua streamRefused)
-- is answered, so the worker warns while the retries its wake makes are refused.
if streamRefused then return {moved, nextMs, streamRefused, refusedTries} end
return {moved, nextMs}

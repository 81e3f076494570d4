-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments.
-- @include rcall
-- Helpers over a task key's state hash: fields gen (the current generation), state, id, name,
-- attempt, mid (queued stream entry), dm (delayed member), rmid/rown (the running delivery),
-- fence (the running delivery's fencing number), rliv (the lease it runs under: its owner's
-- liveness value at the claim, see includes/stranded-run.lua), rtid (the running run's delivery
-- and task id, '<rmid> <task id>', written with rmid: once a replace() names a newer run in id,
-- the scripts that end the older run stranded tell its waiters by it; see runningTask), xid (the
-- task cancelled last: cancel.lua and remove-task.lua, read by result() once a newer run holds
-- the key), sid (the settled run a newer one followed, '<task id> <completed|failed>': enqueue.lua,
-- and includes/successor.lua for a periodic run's successor and a chain's first run; read by
-- result() the same way).

-- storedGeneration(text): a key state's generation (field gen) as stored, an integer from 0 to
-- 2^53-1; nil otherwise (anyone can write the hash: `x`, `inf`, `1.5`).
local function storedGeneration(text)
  local n = tonumber(text)
  if n and n >= 0 and n <= 9007199254740991 and n == math.floor(n) then return n end
  return nil
end

-- The calls that wrote a run under the key: field calls, '<task id>=<generation>' for each of the
-- last KEY_CALLS_KEPT runs an enqueue, replace() or schedule() wrote, newest last. ioredis resends
-- a call whose reply was lost with its connection; its task id (drawn per call, never reused)
-- found there means this very call ran before, even once another call wrote a newer run: it
-- writes nothing (it acted again over that run: a replace() superseded the newer one, a
-- schedule() put the older timing back, an enqueue after a cancel ran its task again).
local KEY_CALLS_KEPT = 8

-- calledBefore(calls, id): the generation the call of task `id` wrote, when field calls (as
-- read) names it; nil otherwise. Anyone can write the field: what is not a list of
-- '<id>=<generation>' names no call, and a generation that is not one reads as 0.
local function calledBefore(calls, id)
  if type(calls) ~= 'string' or calls == '' then return nil end
  local text = ' ' .. calls .. ' '
  local at = string.find(text, ' ' .. id .. '=', 1, true)
  if not at then return nil end
  return storedGeneration(string.match(text, '^(%d+) ', at + #id + 2)) or 0
end

-- callsWith(calls, id, gen): field calls with the call of task `id`, generation `gen`, added
-- last, the oldest dropped past KEY_CALLS_KEPT.
local function callsWith(calls, id, gen)
  local list = {}
  if type(calls) == 'string' then
    for entry in string.gmatch(calls, '%S+') do list[#list + 1] = entry end
  end
  list[#list + 1] = id .. '=' .. string.format('%d', gen)
  local first = math.max(1, #list - KEY_CALLS_KEPT + 1)
  return table.concat(list, ' ', first, #list)
end

-- notAHash(keyState): the key holds another type than a hash (anyone can `SET <key state> x`).
-- Every HGET on it raises WRONGTYPE, which fails the whole script: in a batch (complete, claim)
-- every other run of it too, retried for ever. The scripts read such a state as none (a run whose
-- state is missing is stale) and write nothing to it, but those that write a fresh state for the
-- key replace it (dropForeignState). One TYPE per keyed run, before any write.
local function notAHash(keyState)
  local t = rcall('TYPE', keyState)
  t = type(t) == 'table' and t.ok or t
  return t ~= 'hash' and t ~= 'none'
end

-- dropForeignState(keyState): for a script about to write a fresh state for its key (enqueue,
-- schedule, redrive): a state that is not a hash reads as none, as an expired one does, and is
-- deleted so that the fresh state takes its place. Its runs are stale already (the head and
-- tail checks read it as none), and the generation drawn next is new to them.
local function dropForeignState(keyState)
  if notAHash(keyState) then rcall('DEL', keyState) end
end

-- The largest number the queue's sequence draws, 2^53-1. INCR's integer reaches the script as a
-- Lua number, a double: past it consecutive draws round to one generation or fencing number (two
-- runs of a key told one generation, two claims one fence). Anyone can `SET <seq>` near it.
local SEQUENCE_MAX = 9007199254740991

-- sequencePassed(seq): the refusal of a draw past SEQUENCE_MAX.
local function sequencePassed(seq)
  return redis.error_reply('ERR the sequence ' .. seq .. ' passed 2^53-1: a generation or fencing number'
    .. ' drawn from it would not be exact (set it back to the highest generation its queue uses)')
end

-- drawGeneration(seq, keyState): nextGeneration's draw, which writes the queue's sequence alone,
-- for a script that tells of the new generation before it writes the key's state (enqueue.lua,
-- cancel.lua). Its INCR is the script's first write command there, on purpose: a Redis out of memory refuses
-- a write that may grow memory only while no write command ran in the script, so it refuses the
-- call at this INCR or not at all, never after a notice; a refusal after it (a channel an ACL
-- refuses, a draw past SEQUENCE_MAX) leaves a skipped generation number only. A script whose
-- draw comes after other writes asks sequenceCheck first, for every draw it may make.
local function drawGeneration(seq, keyState)
  local gen = rcall('INCR', seq)
  if gen > SEQUENCE_MAX then error(sequencePassed(seq)) end
  local stored = storedGeneration(rcall('HGET', keyState, 'gen')) or 0
  if stored >= 4503599627370496 then stored = 0 end
  if gen <= stored then
    gen = stored + 1
    rcall('SET', seq, gen)
  end
  return gen
end

-- incrementable(text): INCR takes `text` and adds one: an integer as Redis parses one (no sign
-- but a leading '-', no leading zero, no space), from -2^63 up to 2^63-2 (2^63-1 would overflow).
local function incrementable(text)
  if text == '0' then return true end
  local sign, digits = string.match(text, '^(%-?)([1-9]%d*)$')
  if not digits or #digits > 19 then return false end
  if #digits < 19 then return true end
  if sign == '-' then return digits <= '9223372036854775808' end
  return digits < '9223372036854775807'
end

-- sequenceCheck(seq, draws): for a script whose draws (drawGeneration, `draws` of them at most)
-- come after other writes (a settle's periodic successors, drawn after the runs' results, acks
-- and ends): refuses the call before its first write when INCR would refuse the sequence, a key
-- of another type (WRONGTYPE naming its type) or text INCR does not take (anyone with Redis
-- access can `SET <seq> abc`), or when its last draw would pass SEQUENCE_MAX. Redis does not
-- roll a script back: the INCR's own error (or the draw's) failed the settle after those writes,
-- and the chain ended without a successor. One GET (and a TYPE when it is refused).
local function sequenceCheck(seq, draws)
  local ok, held = pcall(rcall, 'GET', seq)
  if not ok then
    local t = rcall('TYPE', seq)
    t = type(t) == 'table' and t.ok or t
    error(redis.error_reply('WRONGTYPE the sequence ' .. seq .. ' holds a ' .. t .. ', not a string'))
  end
  if held and not incrementable(held) then
    error(redis.error_reply('ERR the sequence ' .. seq .. ' is not an integer INCR can increment'))
  end
  if (tonumber(held) or 0) + draws > SEQUENCE_MAX then error(sequencePassed(seq)) end
end

-- nextGeneration(seq, keyState): a new generation for the key, drawn from the queue's sequence
-- (which never expires) so that no generation of a key ever repeats, even after its state hash
-- expired or was deleted with a message of the old generation still in flight. It is also kept
-- above the key's stored generation, for states written before the sequence existed, when that
-- is one below 2^52: anyone can write it, and `inf` or `1e300` lifted the sequence to a value
-- INCR refuses (every later draw of the queue failed), one near 2^53 to where Lua's doubles
-- round consecutive draws to one generation. Any other is drawn past: the draw differs from it.
local function nextGeneration(seq, keyState)
  local gen = drawGeneration(seq, keyState)
  rcall('HSET', keyState, 'gen', gen)
  return gen
end

-- isStale(keyState, gen, id): a message of generation `gen` and task `id` lost to a newer
-- replace/cancel/enqueue. Generation 0 (no key) is never stale. A missing state is stale: a
-- state hash never expires while anything of its key is queued, delayed or running. The task id
-- is compared too: a generation names one task, and a mismatch means the state moved on.
-- staleAgainst(storedGen, storedId, gen, id): the same judgement over fields the caller read
-- (the state's gen and id, false when absent), for a script that reads more of the state at once.
local function staleAgainst(storedGen, storedId, gen, id)
  if gen == 0 then return false end
  if not storedGen or tonumber(storedGen) ~= gen then return true end
  return id ~= nil and storedId ~= id
end
local function isStale(keyState, gen, id)
  if gen == 0 then return false end
  local current = rcall('HMGET', keyState, 'gen', 'id')
  return staleAgainst(current[1], current[2], gen, id)
end

-- recordsRunHere(keyState, entryId, consumer): for a delivery in no pending list any more (its
-- stream was deleted under the run, and its group with it: an operator's DEL or FLUSH of the
-- stream), the key state still records it running under `consumer` (fields rmid, rown). No one
-- took the run over (a takeover's claim rewrites those fields) nor settled it (a settle drops
-- them), so its settle is still this worker's: refused, it left the key running while the
-- worker lived. A state that is not a hash records nothing.
local function recordsRunHere(keyState, entryId, consumer)
  if notAHash(keyState) then return false end
  local rmid, rown = unpack(rcall('HMGET', keyState, 'rmid', 'rown'))
  return rmid == entryId and rown == consumer
end

-- expireSettled(keyState, ttlMs): a settled key's state expires (at once when ttlMs is 0), but
-- a `@Task` chain stopped by cancel() or remove() (cancelled, its stored schedule kept: sk), or
-- ended by a worker of a version that no longer defines it (field ended, see successor.lua),
-- keeps its state, one small hash per task: a running worker takes a chain whose state is gone
-- for lost data and puts it back (schedule-periodic.lua 'restore'); it stays stopped until a boot.
local function expireSettled(keyState, ttlMs)
  local state, schedule, ended = unpack(rcall('HMGET', keyState, 'state', 'sk', 'ended'))
  if schedule and (state == 'cancelled' or ended) then
    rcall('PERSIST', keyState)
  elseif ttlMs > 0 then
    rcall('PEXPIRE', keyState, ttlMs)
  else
    rcall('DEL', keyState)
  end
end

-- releaseKey(keyState, entryId, ttlMs): drop the running record when it is this delivery's,
-- then let a settled key expire (expireSettled); a key still running elsewhere, or with a
-- successor scheduled, keeps no TTL.
local function releaseKey(keyState, entryId, ttlMs)
  if rcall('HGET', keyState, 'rmid') == entryId then
    rcall('HDEL', keyState, 'rmid', 'rown', 'fence', 'rliv', 'rtid')
  end
  local state = rcall('HGET', keyState, 'state')
  if (state == 'completed' or state == 'failed' or state == 'cancelled')
      and rcall('HEXISTS', keyState, 'rmid') == 0 then
    expireSettled(keyState, ttlMs)
  end
end

-- dropRuntimeSchedule(keyState): a runtime schedule's key stops being one: its markers (rt,
-- sig), its stored schedule (see successor.lua) and its catch-up mark go, so no later run of the
-- key is taken for its chain (schedule-runtime.lua) or timed by it (dead-letter.lua).
local function dropRuntimeSchedule(keyState)
  rcall('HDEL', keyState, 'rt', 'sig', 'sk', 'every', 'cron', 'tz', 'fires', 'queue', 'cu')
end

-- staleToken(keyState, taskId): what result() waiters are told about a run that lost to its key's
-- newer state: 'x' when it is the task the key's last cancel ended (xid), else 's' (superseded),
-- as a result() asked later reads it (settled-state.ts). Not the key's state now: the key may
-- have been used again since the cancel, or its newer run cancelled since a replace.
-- lostToken(taskId, xid): the same over an xid the caller read.
local function lostToken(taskId, xid)
  return (xid == taskId and 'x' or 's') .. ':' .. taskId
end
local function staleToken(keyState, taskId)
  return lostToken(taskId, rcall('HGET', keyState, 'xid'))
end

-- runningTask(rtid, rmid): the task id field rtid names, when it names the running delivery rmid
-- too (claim.lua writes '<rmid> <task id>' with rmid); nil otherwise. A worker of an earlier
-- version drops the running record but not rtid, and claims without writing it: the value left
-- names an earlier run, which may have settled since (completed, its result stored), and telling
-- its waiters 's:<id>' was false. So is one anyone wrote in another form, or naming no task.
local function runningTask(rtid, rmid)
  if not rtid or not rmid then return nil end
  local prefix = rmid .. ' '
  if #rtid <= #prefix or string.sub(rtid, 1, #prefix) ~= prefix then return nil end
  return string.sub(rtid, #prefix + 1)
end

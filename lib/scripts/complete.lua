--[[
  KEYS: stream, delayed set, sequence, then per run its result key and key state when it has
  them. ARGV: group, consumer, done channel, state TTL, id range, result TTL, runs (JSON).
  Settle a batch of successful runs (the tail check). Per run: a delivery this worker no longer
  owns is refused and writes nothing; a stale generation is acked and writes nothing (a key
  state that is not a hash reads as none: stale, and left as it is); otherwise
  the message is acked and deleted, the result stored with its TTL, and the key released.
  One PUBLISH tells result() waiters which tasks finished: 'c:<id>' completed, 's:<id>' or
  'x:<id>' superseded or cancelled. A keyed run whose delivery is in no pending list, its stream
  deleted under it, is still this worker's while its key state records it running here
  (recordsRunHere): it settles as an owned one, with nothing to ack (its entry, should one be
  left, is deleted), so its key does not stay running for the worker's life. So does one whose
  id another task took since (a stream made anew numbers its entries from Redis's clock alone):
  that task's delivery, pending elsewhere, is no takeover, and its entry is left
  (includes/stranded-settle.lua: one XRANGE for a run not pending here, none for an owned one).

  KEYS[1] stream
  KEYS[2] delayed set (where periodic successors go)
  KEYS[3] the queue's sequence (a periodic successor's generation is drawn from it)
  KEYS[4..] per run, in run order: its result key when it has a result or keeps one (encoded
            result not '', or r = 1), then its key state hash when it has a key (k = 1)
  then, when a run is under flow control (f = 1), the partition's flow keys (see
  includes/flow.lua): every acked flow run releases its slots, which feeds waiting tasks

  ARGV[1] consumer group
  ARGV[2] consumer (this worker)
  ARGV[3] done channel
  ARGV[4] key state TTL in ms
  ARGV[5] lowest stream entry id of the batch
  ARGV[6] highest stream entry id of the batch
  ARGV[7] result TTL in ms (0 = not stored) for runs that do not set their own
  ARGV[8] the runs, one flat JSON array, four values a run (one argument decodes faster than
          hundreds, and one array faster than one per run: cjson grows each from empty, three
          table resizes a run): stream entry id, task id, encoded result ('' for a handler that
          returned nothing: nothing is stored, so a drained no-op task leaves nothing behind), and for a
          run with a key, its own result TTL, a kept result or flow control an object whose
          fields are all optional {g: generation (absent or 0 = never stale), k: 1 when the run
          has a key, t: its result TTL (absent: ARGV[7]), r: 1 when the task went through the
          delayed set (its result, even '', is stored, replacing the pending marker of a
          retry; a task that waited for a slot has none: its handle reads flow:tasks), s: a
          periodic run's successor as JSON (see includes/successor.lua), f: 1 for a run under
          flow control}, the number 1 for {f: 1} alone (a flow run's usual settle), or 0 for
          none of them

  Acked entries leave the stream: by trimming whole stream nodes below the oldest pending entry
  when nothing older than this batch is pending (cheap; the batch's entries above that pending
  one are deleted), exactly when nothing is pending at all, and by XDEL when an older run is
  still pending (a long task must not pin acked entries).

  Returns one code per run: 1 completed, 0 superseded (stale), -1 refused (owned by another
  consumer), -2 already settled (no longer pending: a resent command; or an entry the batch
  names twice, settled at its first mention).
  A flow run's hold is read with the batch's others in one HMGET, and the releases' writes of
  F.tasks and F.entered go in one command each (includes/flow-writes.lua), also when a runtime
  error stops the releases: those deferred before it are written, then the error is raised.
  Atomic: the ownership and generation checks and every write are one step. A flow key of another
  type (includes/flow.lua) refuses the whole batch, WRONGTYPE naming the key, before any write;
  so do a delayed set of another type and a sequence INCR refuses, or whose draws (one per
  successor) would pass 2^53-1, when a keyed run carries a successor (s), read once per batch
  with such a run (includes/key-type.lua, sequenceCheck in includes/key-state.lua): nothing for a
  batch without one. A caller whose ACL user may not
  publish to the done channel is refused (NOPERM) before the first write too, once a run is to
  settle (includes/notice-check.lua, no command): a batch that settles none is answered.
]]
-- @include rcall
-- @include now-ms
-- @include owned-by
-- @include key-state
-- @include message
-- @include successor
-- @include end-run
-- @include entry-id
-- @include flow
-- @include stranded-settle
-- @include key-type
-- @include notice-check

local stream, delayed, seq = KEYS[1], KEYS[2], KEYS[3]
-- The stored form of a handler that returned nothing, for runs whose result must be kept.
local NO_VALUE = '{"ok":true}'
local group, consumer, channel, stateTtl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local defaultTtl = tonumber(ARGV[7])
local out, acked, unpended, done, flowIds, flowEntries = {}, {}, {}, {}, {}, {}
-- Redis's clock, read at the batch's first keyed run to end (one TIME per batch, none without one).
local now
local k = 4

-- The fence for the whole batch in one call: what this consumer holds in the batch's id range
-- (it holds few entries outside the batch: its slots bound them).
local owned = {}
for _, row in ipairs(rcall('XPENDING', stream, group, ARGV[5], ARGV[6], '1000000', consumer)) do
  owned[row[1]] = true
end

-- Four values a run (ARGV[8]): run i's are at 4i - 3 .. 4i.
local runs = cjson.decode(ARGV[8])
local runCount = math.floor(#runs / 4)
-- A flow key of another type refuses the batch before its first write (includes/flow.lua), as
-- do a delayed set of another type and a sequence INCR refuses (sequenceCheck) when a keyed run
-- carries a periodic successor (its generation's INCR and its ZADD come after the run's result
-- and its key's end: the batch failed after them, its retry found the run stale, and the chain
-- ended without a successor). The batch's runs stay pending, settled
-- by the worker's retry once the key is of its type again or gone. A run without options (no
-- key, no flow: the hot path) reads nothing here.
local flowChecked, successors = false, 0
-- A flow run with no other option comes as 1, not {f: 1}: a table fewer for cjson to make.
local FLOW_ONLY = {f = 1}
for at = 4, runCount * 4, 4 do
  local o = runs[at]
  if o == 1 then
    o = FLOW_ONLY
    runs[at] = o
  end
  if type(o) == 'table' then
    if o.f == 1 and not flowChecked then
      flowCheckSettle(flowKeysAtEnd())
      flowChecked = true
    end
    if o.k == 1 and o.s then successors = successors + 1 end
  end
end
-- Each successor draws a generation: the sequence is read for all of them at once.
if successors > 0 then
  keyCheckType(delayed, 'delayed set', 'zset')
  sequenceCheck(seq, successors)
end

for i = 1, runCount do
  local at = 4 * i
  local entryId, taskId, result, o = runs[at - 3], runs[at - 2], runs[at - 1], runs[at]
  if o == 0 then o = nil end
  local gen, resultTtl, successor, resultKey, keyState, keep = 0, defaultTtl, nil, nil, nil, false
  if o and o ~= FLOW_ONLY then
    gen, resultTtl, successor, keep = tonumber(o.g) or 0, tonumber(o.t) or defaultTtl, o.s, o.r == 1
  end
  if result ~= '' or keep then resultKey = KEYS[k]; k = k + 1 end
  if o and o.k == 1 then keyState = KEYS[k]; k = k + 1 end

  -- Not pending here: refused, unless it is a keyed run stranded here (its stream deleted under
  -- it; its id may hold another task since: strandedSettle). Tested apart, so an owned run
  -- (nearly all of them) pays one lookup, as before.
  if owned[entryId] == false then
    -- Named twice in the batch (no worker sends that; a hand-made call may): settled above, once.
    out[i] = -2
  elseif not owned[entryId] then
    local holder = pendingOwner(stream, group, entryId)
    local stranded, own = false, false
    if keyState ~= nil then stranded, own = strandedSettle(stream, keyState, entryId, taskId, consumer, holder) end
    if stranded then
      if own then unpended[#unpended + 1] = entryId end
    else
      out[i] = holder and -1 or -2
    end
  else
    acked[#acked + 1] = entryId
  end
  owned[entryId] = false
  if out[i] == nil then
    -- The batch's first run to settle: its notice will go out, after the writes it announces
    -- (built run by run), so the channel is checked here, before the first of them (noticeCheck).
    if #done == 0 then noticeCheck(channel) end
    if o and o.f == 1 then
      flowIds[#flowIds + 1] = taskId
      flowEntries[#flowEntries + 1] = entryId
    end
    if keyState and notAHash(keyState) then
      done[#done + 1] = 's:' .. taskId
      out[i] = 0
    elseif keyState and isStale(keyState, gen, taskId) then
      releaseKey(keyState, entryId, stateTtl)
      done[#done + 1] = staleToken(keyState, taskId)
      out[i] = 0
    else
      if keep and result == '' then result = NO_VALUE end
      if resultTtl > 0 and result ~= '' then
        rcall('SET', resultKey, result, 'PX', resultTtl)
      elseif keep then
        rcall('DEL', resultKey)
      end
      if keyState then
        now = now or nowMs()
        endKeyedRun(keyState, delayed, seq, entryId, taskId, 'completed', nil, stateTtl, successor, now)
      end
      done[#done + 1] = 'c:' .. taskId
      out[i] = 1
    end
  end
end

if #acked > 0 then
  rcall('XACK', stream, group, unpack(acked))
  -- Entries below the oldest pending one are all delivered and acked (delivery is in id order).
  -- Read alone: XPENDING's summary form lists every consumer holding entries, so it walks
  -- every consumer of the group, and anyone can create consumers (XGROUP CREATECONSUMER).
  local oldest = rcall('XPENDING', stream, group, '-', '+', '1')[1]
  oldest = oldest and oldest[1]
  if not oldest then
    rcall('XTRIM', stream, 'MINID', idAfter(ARGV[6]))
  elseif idGreater(oldest, ARGV[5]) then
    rcall('XTRIM', stream, 'MINID', '~', oldest)
    -- Acked runs above the oldest pending one are not trimmed: they are deleted, or they would
    -- stay until a later batch trims past them (forever, if none comes). None is when that one
    -- is above the batch (a later read's, the usual case): no id is compared.
    if not idGreater(oldest, ARGV[6]) then
      local above = {}
      for _, id in ipairs(acked) do
        if idGreater(id, oldest) then above[#above + 1] = id end
      end
      if #above > 0 then rcall('XDEL', stream, unpack(above)) end
    end
  else
    rcall('XDEL', stream, unpack(acked))
  end
end
if #unpended > 0 then rcall('XDEL', stream, unpack(unpended)) end
-- After the trim: what the releases admit is appended above this batch, and stays.
-- The batch's holds are read in one HMGET, and the releases' writes of F.tasks and F.entered go
-- in one command each (includes/flow-writes.lua).
if #flowIds > 0 then
  local F = flowKeysAtEnd()
  local holds = flowWrites.prefetch(F, flowIds)
  flowWrites.deferred = true
  -- Redis keeps a script's writes up to a runtime error: what the releases before it deferred is
  -- written before the error goes on, as if each write had been sent at once (a task they
  -- admitted is in the stream, so its hold must be too).
  local released, failure = pcall(function()
    for i, id in ipairs(flowIds) do flowRelease(F, stream, id, flowEntries[i], holds[i]) end
  end)
  flowWrites.flush(F)
  flowWrites.deferred = false
  if not released then error(failure, 0) end
end
if #done > 0 then rcall('PUBLISH', channel, table.concat(done, ',')) end
return out

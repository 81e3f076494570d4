--[[
  KEYS: the partition's layout record, stream, delayed set, dead letters, sequence, freezers,
  the partition's flow keys, [key states]. ARGV: step, counts, consumer group, partition-0 flag, outside flag, sequence
  floor, groups bound, lost flag (details below).
  One step of changing a queue's partition count, on one partition (see partition-layout.ts,
  which freezes every partition in order, cleans them, then commits them in reverse, or thaws
  back those it froze).

  KEYS[1] the partition's layout record: absent = 1 partition, '<n>' = n, '<from>><to>' = frozen
          (a commit or a thaw writes '1' too: absent means never changed, or lost by Redis)
  KEYS[2] the partition's stream
  KEYS[3] the partition's delayed set
  KEYS[4] the partition's dead-letter stream: a dead letter is a task too (a redrive puts it back
          in this partition, under its key's old mapping)
  KEYS[5] the partition's sequence (generations and fences are drawn from it)
  KEYS[6] the partition's freezers: how many processes of the switch rely on its frozen record
          (the one that froze it and each that found it frozen); a thaw by one of them gives it
          back to the old count only when none relies on it any more
  KEYS[7..17] the partition's flow keys (see includes/flow.lua): a freeze reads its waiting room,
          held slots and rate start records (a group's tasks go to the partition of its group
          under the count: one left here under the old count would share no limit with the new
          ones sent elsewhere)
  KEYS[18..] clean only: key states of the partition (its caller found them by SCAN)

  ARGV[1] 'freeze', 'clean', 'commit' or 'thaw'
  ARGV[2] the stored count the switch starts from
  ARGV[3] the count it goes to
  ARGV[4] consumer group name
  ARGV[5] '1' on partition 0: periodic chains (keys 'periodic:...') may stay, they live there
          under every count
  ARGV[6] freeze: '1' for a partition outside the old layout (its index is `from` or more): no
          process of the old count writes there, so a count its record still holds from an
          older layout is stale
  ARGV[7] commit: the highest sequence of any partition once all were frozen; this partition's
          is raised to it, so a key moved here draws generations and fences above those it
          drew where it was (each only grows, as the README promises)
  ARGV[8] freeze: the most consumer groups the stream may have for its emptiness check (finding
          the workers' group lists every group, and anyone can create them)
  ARGV[9] thaw: '1' when the switch records again a count Redis lost (the record was absent when
          it began, lost-layouts.ts): the last thaw gives the record back absent, not '1', so the
          running processes still read it as lost and record it again once the partitions are empty

  Returns {code, record}:
    1  done: frozen now (freeze), committed, or thawed (the record is the old count again, or
       still frozen for the processes that rely on it);
    2  (freeze only) the record is already this switch's: frozen by another process booting with
       the same count (this one now relies on it too, and thaws it when it fails), or committed;
       a frozen record with no freezers (no freeze wrote it) only if the partition is empty;
    0  (freeze only) refused: the partition still holds tasks (queued, running, delayed, waiting
       for a flow slot, or holding one) or a rate token still in its window, also under a
       frozen record with no freezers (nothing written);
    -1 refused: the record belongs to no step of this switch (another count, another switch):
       nothing written; for clean, the record is not this switch's frozen one;
    -2 (freeze only) refused: the stream has more than ARGV[8] consumer groups, so whether it
       holds tasks is not read; a third element says how many. Nothing written.
  clean (the partition frozen by this switch): drops each key state of KEYS[18..] whose waiting run
  is gone (queued or delayed, its stream entry or delayed member deleted: liveRunGone, the
  judgement enqueue.lua makes), and returns {1, record, how many it dropped}. An operator's XDEL
  of a queued entry, or DEL of a delayed member, leaves such a state without a TTL: in its own
  partition the key's next enqueue supersedes it, but a key the new count maps elsewhere gets no
  enqueue here any more, and the state stayed for good (its freeze read streams, not key states).
  A state whose message is still there, running, settled, not a hash, or storing a @Task chain's
  schedule (sk or every without rt: its key stays in partition 0 under every count, where the
  chain's restore judges a gone run) is left as it is. A runtime schedule's (rt) is dropped like
  any other: its key moves with the count, its next schedule() goes to the new partition, and
  kept, the old state stayed for good, listed by schedules() beside the new one, out of
  unschedule()'s reach (its index entry, left, lists nothing without a state).
  A state holding a running record (field rown, whatever its state: a cancelled or replaced run
  still holds its key until it settles; the freeze found no pending delivery, so its stream or
  entry was purged under it, and its handler may still be going) stops the clean: {0, record, how many
  it dropped, that key state}, and the switch thaws and fails as for a partition holding tasks.
  Left so, the key's next enqueue under the new count went to its new partition, where nothing
  held it, and ran beside it. A cancel(key) ends such a run once its owner is dead.
  A frozen partition takes no checked write, and each state is judged and dropped in one step.
  Atomic: the emptiness check and the freeze are one step. A frozen record refuses every write
  that checks its layout (layout-guard.lua), so the partition stays empty until the commit. A
  record moves only from the old count to frozen (empty), frozen to the new count, or frozen
  back to the old count by the last process relying on it: never from the new count back, and
  never thawed under a process that goes on to commit, so processes that switch at once never
  undo each other's switch nor leave it half made. A process that dies relying on a frozen
  record leaves it frozen: the next boot with the target count finishes the switch.
]]
-- @include rcall
-- @include group-row
-- @include key-state
-- @include chain-run
-- @include now-ms
-- @include flow

local layout, stream, delayed, dlq, seq, freezers = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local op, from, to, group = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local stored = rcall('GET', layout) or '1'
local frozen = from .. '>' .. to

-- setCount(n): the record written as a count, 1 too (never deleted): a record gone under a process
-- of more partitions is then one Redis lost (restarted without persistence, flushed), which that
-- process records again (lost-layouts.ts), never a change to 1, or a thaw back to 1, it would undo.
local function setCount(n)
  rcall('SET', layout, n)
  return {1, n}
end

local F = flowKeys(7)

-- holdsFlowState(): a task waiting in the room or holding slots (F.tasks names both), or a rate
-- token still counted in a window its task's recorded rates have: a start record in it, a
-- marker or a reservation (rateRecordLeft). A group's tasks are sent to its group's partition
-- under the count, so after a change its new tasks go elsewhere: with its old ones still
-- holding slots or tokens here, the group would run above its limit. Records that left their
-- window hold nothing (the sweep trims them), nor those of a window no recorded rate has (a
-- removed limit: the sweep keeps them for the longest window there is, 24 days, which would
-- hold the switch as long); F.starts is read a page at a time until a counted one.
local function holdsFlowState()
  -- EXISTS, not HLEN: an empty hash or set is no key, and EXISTS is in README's ACL list (and
  -- answers for a key of another type too, which holds the switch rather than failing it).
  if rcall('EXISTS', F.tasks, F.room) > 0 then return true end
  local now, from = nowMs(), '-'
  while true do
    local page = rcall('ZRANGEBYLEX', F.starts, from, '+', 'LIMIT', '0', '500')
    for _, member in ipairs(page) do
      local left, known = rateRecordLeft(F, member, now)
      if left == false and known then return true end
    end
    if #page < 500 then return false end
    from = '(' .. page[#page]
  end
end

-- holdsTasks(): an entry pending or not yet read by the group, a dead letter, a delayed task
-- (other than periodic chains on partition 0), or flow state (holdsFlowState). Acked entries may
-- linger until a trim: they are not tasks. Past ARGV[8] groups on the stream it cannot tell
-- (includes/group-row.lua): nil and the number of groups.
local function holdsTasks()
  if rcall('XLEN', dlq) > 0 then return true end
  if holdsFlowState() then return true end
  local info, refusal, streamInfo = groupRow(stream, group, tonumber(ARGV[8]))
  if refusal then return nil, streamInfo.groups end
  if streamInfo then
    if not info then
      if #rcall('XRANGE', stream, '-', '+', 'COUNT', '1') > 0 then return true end
    else
      if tonumber(info['pending']) > 0 then return true end
      if #rcall('XRANGE', stream, '(' .. info['last-delivered-id'], '+', 'COUNT', '1') > 0 then return true end
    end
  end
  if ARGV[5] ~= '1' then return #rcall('ZRANGE', delayed, '0', '0') > 0 end
  for _, member in ipairs(rcall('ZRANGE', delayed, '0', '-1')) do
    local ok, m = pcall(cjson.decode, member)
    if not ok or type(m) ~= 'table' or type(m.k) ~= 'string' or string.sub(m.k, 1, 9) ~= 'periodic:' then
      return true
    end
  end
  return false
end

if op == 'freeze' then
  if stored == to then return {2, stored} end
  if stored == frozen then
    -- A freeze of this switch sets the freezers with the record, and they stay until its commit
    -- or last thaw: a frozen record without them was written otherwise (anyone can SET it), and
    -- says nothing of what the partition holds, so it is checked as the old count would be.
    if rcall('EXISTS', freezers) == 0 then
      local holds, groups = holdsTasks()
      if groups then return {-2, stored, groups} end
      if holds then return {0, stored} end
    end
    rcall('INCR', freezers)
    return {2, stored}
  end
  local stale = ARGV[6] == '1' and string.match(stored, '^%d+$')
  if stored ~= from and not stale then return {-1, stored} end
  local holds, groups = holdsTasks()
  if groups then return {-2, stored, groups} end
  if holds then return {0, stored} end
  rcall('SET', layout, frozen)
  rcall('SET', freezers, '1')
  return {1, frozen}
end
if op == 'clean' then
  if stored ~= frozen then return {-1, stored} end
  local dropped = 0
  for i = 18, #KEYS do
    local keyState = KEYS[i]
    if not notAHash(keyState) then
      local state, sk, every, rt, rown = unpack(rcall('HMGET', keyState, 'state', 'sk', 'every', 'rt', 'rown'))
      if rown and rown ~= '' then return {0, stored, dropped, keyState} end
      if not ((sk or every) and not rt) and liveRunGone(stream, delayed, keyState, state) then
        rcall('DEL', keyState)
        dropped = dropped + 1
      end
    end
  end
  return {1, stored, dropped}
end
if op == 'commit' then
  if stored ~= frozen and stored ~= to then return {-1, stored} end
  local floor = tonumber(ARGV[7]) or 0
  if (tonumber(rcall('GET', seq)) or 0) < floor then rcall('SET', seq, floor) end
  rcall('DEL', freezers)
  if stored == to then return {1, stored} end
  return setCount(to)
end
-- thaw: one process that relied on the frozen record fails; the last one gives it back to the
-- count the switch started from (a frozen partition received no task).
if stored ~= frozen then return {1, stored} end
if rcall('DECR', freezers) > 0 then return {1, stored} end
rcall('DEL', freezers)
if ARGV[9] == '1' and from == '1' then
  rcall('DEL', layout)
  return {1, '1'}
end
return setCount(from)

-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the partition's flow keys (includes/flow.lua) as F.
-- @include rcall
-- A settle's releases write F.tasks and F.entered once per batch, not once per run: each
-- redis.call costs Redis glue besides the command (arguments made into objects, the reply made
-- into Lua values), and a groups drain's settle made four such calls per run it released only
-- to read and write these two keys (the hold's HGET and HDEL, the next task's HSET, its entry
-- time's ZREM). complete.lua reads its runs' holds in one HMGET (prefetch) and sets
-- `flowWrites.deferred` for its releases: flow.lua's writes of F.tasks and F.entered then wait
-- here and reach Redis at flush, one HDEL, one HSET and one ZREM. Every other read or write of
-- them in flow.lua flushes first (flush is a no-op when nothing waits), so it sees what the
-- release wrote. What the release itself reads of them is only the batch's holds, read before
-- it; it admits waiting tasks, which are never the batch's runs (a task waits or holds slots,
-- never both): the deferred writes name other ids than those holds, bar a hostile copy of a
-- room member (anyone with Redis access can write one), and the flush deletes before it sets, so
-- a hold written for an id keeps it. The outcome is the same as writing each at once.
-- The room (F.room) is written at once: each release reads its pair's best member after the
-- last one left. All in one table: claim.lua, which includes flow.lua, is near Lua's limit of
-- 200 locals in one function. Arguments are sent CHUNK values at a time (even: an HSET's pairs
-- stay whole), as Lua's unpack runs out of stack near 8,000 values.
local flowWrites = {deferred = false, sets = {}, dels = {}, entered = {}, CHUNK = 1000}

function flowWrites.send(command, key, values)
  for at = 1, #values, flowWrites.CHUNK do
    rcall(command, key, unpack(values, at, math.min(at + flowWrites.CHUNK - 1, #values)))
  end
end

-- The records in F.tasks of task ids `ids`, in their order (false for none): one HMGET a chunk.
function flowWrites.prefetch(F, ids)
  local holds = {}
  for at = 1, #ids, flowWrites.CHUNK do
    local last = math.min(at + flowWrites.CHUNK - 1, #ids)
    for i, held in ipairs(rcall('HMGET', F.tasks, unpack(ids, at, last))) do holds[at + i - 1] = held end
  end
  return holds
end

-- Writes what waits: the deletions of F.tasks, its records, then F.entered's removals.
function flowWrites.flush(F)
  if #flowWrites.dels > 0 then
    flowWrites.send('HDEL', F.tasks, flowWrites.dels)
    flowWrites.dels = {}
  end
  if #flowWrites.sets > 0 then
    flowWrites.send('HSET', F.tasks, flowWrites.sets)
    flowWrites.sets = {}
  end
  if #flowWrites.entered > 0 then
    flowWrites.send('ZREM', F.entered, flowWrites.entered)
    flowWrites.entered = {}
  end
end

-- Task `id`'s record in F.tasks, nil when it has none (what waits is written first).
function flowWrites.get(F, id)
  flowWrites.flush(F)
  return rcall('HGET', F.tasks, id) or nil
end

function flowWrites.set(F, id, value)
  if not flowWrites.deferred then return rcall('HSET', F.tasks, id, value) end
  local sets = flowWrites.sets
  sets[#sets + 1] = id
  sets[#sets + 1] = value
end

function flowWrites.del(F, id)
  if not flowWrites.deferred then return rcall('HDEL', F.tasks, id) end
  flowWrites.dels[#flowWrites.dels + 1] = id
end

-- Task `id`'s entry time leaves F.entered.
function flowWrites.unenter(F, id)
  if not flowWrites.deferred then return rcall('ZREM', F.entered, id) end
  flowWrites.entered[#flowWrites.entered + 1] = id
end

-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the flow key it reads as an argument.
-- @include rcall
-- @include key-type
-- A flow key of another type (anyone with Redis access can `SET <prefix>:flow:count x`) fails a
-- command on it with Redis's WRONGTYPE, which names no key. The scripts name it instead: the
-- writing ones check the types before their first write (includes/flow.lua flowCheckKeys), the
-- reading ones read through flowRead, which asks TYPE only once a read failed.

-- flowKeyTypeError(flowKey, held, want): the refusal naming flow key `flowKey`, which holds a
-- `held` where a `want` belongs (TYPE's names).
local function flowKeyTypeError(flowKey, held, want)
  error(redis.error_reply('WRONGTYPE the flow key ' .. flowKey .. ' holds a ' .. held .. ', not a ' .. want))
end

-- streamCheckType(stream): refuses a stream key that holds another type (anyone can SET one),
-- WRONGTYPE naming it; one TYPE. For a script that may append to the stream after its first write
-- (a promotion after its ZREM, an enqueue whose feed takes a waiting task out of the room): the
-- XADD's own WRONGTYPE would fail it then, the task taken out and never appended (lost).
local function streamCheckType(stream) keyCheckType(stream, 'stream key', 'stream') end

-- flowRead(want, command, flowKey, ...): the reply of `command flowKey ...` on a flow key that
-- holds a `want` or nothing. When the command fails and the key holds another type, the error
-- names it (flowKeyTypeError); any other error goes on as it is. No command more when it succeeds.
local function flowRead(want, command, flowKey, ...)
  local ok, reply = pcall(rcall, command, flowKey, ...)
  if ok then return reply end
  local held = rcall('TYPE', flowKey)
  held = type(held) == 'table' and held.ok or held
  if held ~= 'none' and held ~= want then flowKeyTypeError(flowKey, held, want) end
  -- Raised again as Redis's own error reply (error() of what pcall caught would become an ERR
  -- with the script's line before it).
  error(redis.error_reply(type(reply) == 'table' and reply.err or tostring(reply)))
end

-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the key it checks as an argument.
-- @include rcall

-- keyCheckType(checkedKey, what, want): refuses `checkedKey` when it holds another type than `want` (TYPE's
-- name; none is fine), WRONGTYPE naming it as `what` ('delayed set'); one TYPE. For a key a
-- script writes only after its first write: Redis does not roll a script back, so the write's
-- own WRONGTYPE would fail the call halfway (a failed run acked, its retry or dead letter lost).
-- (Not named `key`: scripts name a task's key `key`, and lua-source.spec reads names alike.)
local function keyCheckType(checkedKey, what, want)
  local held = rcall('TYPE', checkedKey)
  held = type(held) == 'table' and held.ok or held
  if held ~= want and held ~= 'none' then
    error(redis.error_reply('WRONGTYPE the ' .. what .. ' ' .. checkedKey .. ' holds a ' .. held .. ', not a ' .. want))
  end
end

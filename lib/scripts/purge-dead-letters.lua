--[[
  Purge dead letters: the given entries, or all of them.
  KEYS[1] dead-letter stream
  ARGV[1], ARGV[2], ... dead-letter entry ids (none: every dead letter)

  Returns how many entries were removed.
  Atomic: a purge of all counts and deletes in one step, so the count is what was deleted; named
  entries go in XDELs of at most CHUNK ids (unpack() fails past about 8,000 values), all in this
  one call.
]]
-- @include rcall
local dlq = KEYS[1]
if #ARGV == 0 then
  local n = rcall('XLEN', dlq)
  rcall('DEL', dlq)
  return n
end
local CHUNK = 1000
local removed = 0
for first = 1, #ARGV, CHUNK do
  removed = removed + rcall('XDEL', dlq, unpack(ARGV, first, math.min(first + CHUNK - 1, #ARGV)))
end
return removed

--[[
  Purge dead letters: the given entries, or all of them.
  KEYS[1] dead-letter stream
  ARGV[1], ARGV[2], ... dead-letter entry ids (none: every dead letter)

  Returns how many entries were removed.
  Atomic: a purge of all counts and deletes in one step, so the count is what was deleted.
]]
local rcall = redis.call
local dlq = KEYS[1]
if #ARGV == 0 then
  local n = rcall('XLEN', dlq)
  rcall('DEL', dlq)
  return n
end
return rcall('XDEL', dlq, unpack(ARGV))

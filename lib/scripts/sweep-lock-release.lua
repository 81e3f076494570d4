--[[
  Release the sweep lock only when the caller still holds it (compare-and-delete), so a holder
  whose lock expired and was taken by another sweeper never deletes that sweeper's lock.

  KEYS[1] sweep lock
  ARGV[1] the token the caller acquired it with (SET key token NX PX ttl)

  Returns 1 released, 0 not held by the caller.
  Atomic: compare and delete are one step.
]]
-- @include rcall
if rcall('GET', KEYS[1]) == ARGV[1] then
  return rcall('DEL', KEYS[1])
end
return 0

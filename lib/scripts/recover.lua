--[[
  KEYS: stream. ARGV: group, consumer, then the entry ids (details below).
  Take back entries this consumer holds in the group's pending list but not in memory (a read
  whose reply was lost with its connection). Each entry is re-checked here: only one still
  pending under this consumer is returned, so an entry another worker reclaimed meanwhile (this
  one was cut off past its lease) is never taken back from it.

  KEYS[1] stream

  ARGV[1] consumer group
  ARGV[2] consumer (this worker)
  ARGV[3..] stream entry ids

  Returns the entries still held, as {id, fields, deliveries} (XCLAIM by the owner itself: idle
  time reset, delivery count bumped; deliveries counts this one).
  Atomic: the ownership check and the claim are one step.
]]
-- @include rcall

local stream, group, me = KEYS[1], ARGV[1], ARGV[2]
local out = {}
for i = 3, #ARGV do
  local row = rcall('XPENDING', stream, group, ARGV[i], ARGV[i], '1', me)[1]
  if row then
    local entry = rcall('XCLAIM', stream, group, me, '0', ARGV[i])[1]
    if entry then out[#out + 1] = {entry[1], entry[2], row[4] + 1} end
  end
end
return out

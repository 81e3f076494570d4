--[[
  KEYS: stream. ARGV: group, consumer, then entry id and deliveries per entry (details below).
  Take back entries this consumer holds in the group's pending list but not in memory (a read
  whose reply was lost with its connection). Each entry is re-checked here: only one still
  pending under this consumer is returned, so an entry another worker reclaimed meanwhile (this
  one was cut off past its lease) is never taken back from it. A call resent after its reply
  was lost (ioredis resends it on its next connection) finds an entry its first execution took
  back one delivery past the count the caller read: it is returned as it is, no delivery counted
  again (the resend's XCLAIM counted one take-back twice).

  KEYS[1] stream

  ARGV[1] consumer group
  ARGV[2] consumer (this worker)
  ARGV[3..] per entry, 2 values: stream entry id, its deliveries as the caller read them ('' when
            unknown: a resend's take-back is then counted again)

  Returns the entries still held, as {id, fields, deliveries} (XCLAIM by the owner itself: idle
  time reset, delivery count bumped; deliveries counts this one).
  Atomic: the ownership check and the claim are one step.
]]
-- @include rcall

local stream, group, me = KEYS[1], ARGV[1], ARGV[2]
local out = {}
for i = 3, #ARGV - 1, 2 do
  local entryId, readAt = ARGV[i], tonumber(ARGV[i + 1])
  local row = rcall('XPENDING', stream, group, entryId, entryId, '1', me)[1]
  if row and readAt and row[4] == readAt + 1 then
    -- This call's first execution took it back (only its XCLAIM counts a delivery here meanwhile).
    local entry = rcall('XRANGE', stream, entryId, entryId)[1]
    if entry then out[#out + 1] = {entry[1], entry[2], row[4]} end
  elseif row then
    local entry = rcall('XCLAIM', stream, group, me, '0', entryId)[1]
    if entry then out[#out + 1] = {entry[1], entry[2], row[4] + 1} end
  end
end
return out

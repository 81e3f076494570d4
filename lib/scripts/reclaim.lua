--[[
  KEYS: stream, then each candidate owner's liveness key. ARGV: group, consumer, max
  deliveries, then entry id and owner per candidate (details below).
  Take over pending messages whose owner is dead (its liveness key expired). Each candidate is
  re-checked here: it must still be pending under the owner the caller judged dead, and that
  owner must still be dead, so a worker that recovered meanwhile keeps its message and two
  sweepers never take the same one. A message delivered `max deliveries` times is poison: it
  is claimed too, but returned apart, for the caller to dead-letter through dead-letter.lua
  (the one path that ends a run that cannot run, with its key transition). A message deleted
  while pending is dropped from the list. A call resent after its reply was lost (ioredis
  resends it on its next connection) finds what its first execution took pending under this
  consumer, one delivery past the count the caller judged it at: that is taken again as it is,
  no delivery counted, so the caller gets it (a resend that took nothing left it under this
  worker, in no memory, for the recovery to count a delivery more).

  KEYS[1] stream
  KEYS[2..] liveness key of each candidate's owner, in ARGV order

  ARGV[1] consumer group
  ARGV[2] consumer (the sweeping worker, new owner)
  ARGV[3] max deliveries
  ARGV[4..] per candidate, 3 values: stream entry id, owner judged dead, its deliveries as the
           caller read them ('' unknown: a resend's take is then not recognised)

  Returns {claimed, poison, number dropped}: claimed and poison entries as {id, fields,
  deliveries} (deliveries counts this one).
  Atomic: per call, so the owner check and XCLAIM cannot interleave with another sweep. It
  writes nothing that a hostile entry's fields could make fail halfway.
]]
-- @include rcall

local stream = KEYS[1]
local group, me, maxDeliveries = ARGV[1], ARGV[2], tonumber(ARGV[3])
local claimed, poison, dropped = {}, {}, 0

local function take(entry, deliveries)
  local list = deliveries > maxDeliveries and poison or claimed
  list[#list + 1] = {entry[1], entry[2], deliveries}
end
for i = 1, #KEYS - 1 do
  local entryId, owner, judgedAt = ARGV[1 + i * 3], ARGV[2 + i * 3], tonumber(ARGV[3 + i * 3])
  local row = rcall('XPENDING', stream, group, entryId, entryId, '1')[1]
  if row and row[2] == owner and rcall('EXISTS', KEYS[i + 1]) == 0 then
    if not rcall('XRANGE', stream, entryId, entryId)[1] then
      rcall('XACK', stream, group, entryId)
      dropped = dropped + 1
    else
      local got = rcall('XCLAIM', stream, group, me, '0', entryId)[1]
      if got then take(got, row[4] + 1) end
    end
  elseif row and row[2] == me and owner ~= me and judgedAt and row[4] == judgedAt + 1 then
    -- This call's first execution took it (nothing else moves another's entry to this consumer).
    local entry = rcall('XRANGE', stream, entryId, entryId)[1]
    if entry then take(entry, row[4]) end
  end
end
return {claimed, poison, dropped}

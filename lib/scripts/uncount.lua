--[[
  KEYS: stream. ARGV: group, consumer, then entry id and delivery count per entry (details below).
  Give back the deliveries of entries this consumer lets go without having started their runs
  (held by a pause or for a rate token when it shuts down, or not handed over after a failed
  claim or sweep): each one's count in the group's pending list goes back down by one, so the
  next delivery (a reclaim, a recovery) counts where this one did, and maxDeliveries counts
  only runs that started. An entry is given back only while it is still pending under this
  consumer at the count this consumer holds it at: one another worker took over meanwhile is
  left as it is, and a call resent after its reply was lost (the count is one lower by then)
  changes nothing. Its idle time is kept.

  KEYS[1] stream

  ARGV[1] consumer group
  ARGV[2] consumer (this worker)
  ARGV[3..] per entry, 2 values: stream entry id, its deliveries as this worker holds it

  Returns how many entries were given back.
  Atomic: the checks and the XCLAIM are one step, so a reclaim by another worker (reclaim.lua,
  which takes only from a dead owner) comes wholly before or after it.
]]
-- @include rcall

local stream, group, me = KEYS[1], ARGV[1], ARGV[2]
local given = 0
for i = 3, #ARGV - 1, 2 do
  local entryId, deliveries = ARGV[i], tonumber(ARGV[i + 1])
  local row = rcall('XPENDING', stream, group, entryId, entryId, '1', me)[1]
  if row and deliveries and row[4] == deliveries and deliveries >= 1
      and rcall('XRANGE', stream, entryId, entryId)[1] then
    -- RETRYCOUNT sets the count (JUSTID alone would leave it); IDLE keeps the entry's idle time.
    rcall('XCLAIM', stream, group, me, '0', entryId, 'IDLE', row[3], 'RETRYCOUNT', deliveries - 1, 'JUSTID')
    given = given + 1
  end
end
return given

--[[
  Purge dead letters: the given entries, or all of them.
  KEYS[1] dead-letter stream
  KEYS[2] the call's record (includes/call-record.lua): a resend of a purge that ran answers the
          count it purged, not 0 (what it purged is gone)
  ARGV[1] how long the call's record is kept, in ms (0: none)
  ARGV[2], ARGV[3], ... dead-letter entry ids (none: every dead letter)

  Returns how many entries were removed; the recorded count, before anything else, when KEYS[2]
  holds one (a resend).
  Atomic: a purge of all counts and deletes in one step, so the count is what was deleted; named
  entries go in XDELs of at most CHUNK ids (unpack() fails past about 8,000 values), all in this
  one call, with its record.
]]
-- @include rcall
-- @include call-record
local dlq, record, recordTtl = KEYS[1], KEYS[2], ARGV[1]
local recorded = recordedAnswer(record)
if recorded then return tonumber(recorded) end
local removed = 0
if #ARGV == 1 then
  removed = rcall('XLEN', dlq)
  rcall('DEL', dlq)
else
  local CHUNK = 1000
  for first = 2, #ARGV, CHUNK do
    removed = removed + rcall('XDEL', dlq, unpack(ARGV, first, math.min(first + CHUNK - 1, #ARGV)))
  end
end
return tonumber(recordAnswer(record, recordTtl, tostring(removed)))

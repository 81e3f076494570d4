--[[
  Purge dead letters: the given entries, or all of them, or all of them up to a bound.
  KEYS[1] dead-letter stream
  KEYS[2] the call's record (includes/call-record.lua): a resend of a purge that ran answers the
          count it purged, not 0 (what it purged is gone)
  ARGV[1] how long the call's record is kept, in ms (0: none)
  ARGV[2] without ids, '' to purge every dead letter, else an entry id: only those before it go
          (XTRIM MINID), so a purge of all the dead letters an operator was shown leaves one
          dead-lettered since (the CLI's `dlq purge --all` passes the id after the newest it
          counted in its question); ignored with ids
  ARGV[3], ARGV[4], ... dead-letter entry ids (none: every dead letter, up to ARGV[2])

  Returns how many entries were removed; the recorded count, before anything else, when KEYS[2]
  holds one (a resend).
  A purge of all trims the stream to nothing (XTRIM MAXLEN 0) rather than deleting it, which
  keeps its last id: a dead letter written later sorts after every purged one, so a bound read
  before the purge (DeadLetterBound: the dashboard's listing, the CLI's question) never takes it
  in. A DEL let the stream, made anew, number from Redis's clock alone: one dead-lettered in the
  purged newest's millisecond (or after the clock went back) fell inside such a bound, unseen.
  An empty dead-letter stream (about 600 bytes) stays behind.
  Atomic: a purge of all counts and deletes in one step, so the count is what was deleted; named
  entries go in XDELs of at most CHUNK ids (unpack() fails past about 8,000 values), all in this
  one call, with its record.
]]
-- @include rcall
-- @include call-record
local dlq, record, recordTtl, below = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local recorded = recordedAnswer(record)
if recorded then return tonumber(recorded) end
local removed = 0
if #ARGV == 2 and below ~= '' then
  removed = rcall('XTRIM', dlq, 'MINID', below)
elseif #ARGV == 2 then
  -- Trimmed to nothing, not deleted: the stream keeps its last id, so a dead letter written
  -- later sorts after every purged one (a stream made anew numbers from Redis's clock alone, and
  -- one in the purged newest's millisecond fell inside a bound read before this purge).
  removed = rcall('XTRIM', dlq, 'MAXLEN', '0')
else
  local CHUNK = 1000
  for first = 3, #ARGV, CHUNK do
    removed = removed + rcall('XDEL', dlq, unpack(ARGV, first, math.min(first + CHUNK - 1, #ARGV)))
  end
end
return tonumber(recordAnswer(record, recordTtl, tostring(removed)))

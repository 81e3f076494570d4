--[[
  Dead-letter one delivered message that cannot run (missing fields, an undecodable payload,
  an unknown task name), keeping its original fields and the reason. Fenced like complete.

  KEYS[1] stream
  KEYS[2] dead-letter stream

  ARGV[1] consumer group
  ARGV[2] consumer (this worker)
  ARGV[3] stream entry id
  ARGV[4] reason
  ARGV[5] dead-letter stream max length (approximate)

  Returns 1 dead-lettered, -1 refused, -2 already settled.
  Atomic: the copy to the dead-letter stream and the ack are one step.
]]
local rcall = redis.call
-- @include owned-by

local stream, dlq = KEYS[1], KEYS[2]
local group, consumer, entryId = ARGV[1], ARGV[2], ARGV[3]

if not ownedBy(stream, group, entryId, consumer) then
  return pendingOwner(stream, group, entryId) and -1 or -2
end
local entry = rcall('XRANGE', stream, entryId, entryId)[1]
local fields = entry and entry[2] or {}
fields[#fields + 1] = 'reason'; fields[#fields + 1] = ARGV[4]
fields[#fields + 1] = 'entry'; fields[#fields + 1] = entryId
rcall('XADD', dlq, 'MAXLEN', '~', ARGV[5], '*', unpack(fields))
rcall('XACK', stream, group, entryId)
rcall('XDEL', stream, entryId)
return 1

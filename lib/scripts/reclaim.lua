--[[
  Take over pending messages whose owner is dead (its liveness key expired). Each candidate is
  re-checked here: it must still be pending under the owner the caller judged dead, and that
  owner must still be dead, so a worker that recovered meanwhile keeps its message and two
  sweepers never take the same one. A message delivered `max deliveries` times is poison: it is
  dead-lettered instead of claimed. A message deleted while pending is dropped from the list.

  KEYS[1] stream
  KEYS[2] dead-letter stream
  KEYS[3..] liveness key of each candidate's owner, in ARGV order

  ARGV[1] consumer group
  ARGV[2] consumer (the sweeping worker, new owner)
  ARGV[3] max deliveries
  ARGV[4] dead-letter stream max length (approximate)
  ARGV[5..] per candidate, 2 values: stream entry id, owner judged dead

  Returns {claimed entries as {id, fields}, number dead-lettered, number dropped}.
  Atomic: per call, so the owner check and XCLAIM cannot interleave with another sweep.
]]
local rcall = redis.call
-- @include owned-by

local stream, dlq = KEYS[1], KEYS[2]
local group, me, maxDeliveries, maxLen = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local claimed, dead, dropped = {}, 0, 0

for i = 1, #KEYS - 2 do
  local entryId, owner = ARGV[3 + i * 2], ARGV[4 + i * 2]
  local row = rcall('XPENDING', stream, group, entryId, entryId, 1)[1]
  if row and row[2] == owner and rcall('EXISTS', KEYS[i + 2]) == 0 then
    local entry = rcall('XRANGE', stream, entryId, entryId)[1]
    if not entry then
      rcall('XACK', stream, group, entryId)
      dropped = dropped + 1
    elseif row[4] >= maxDeliveries then
      local fields = entry[2]
      fields[#fields + 1] = 'reason'
      fields[#fields + 1] = 'delivered ' .. row[4] .. ' times without settling (poison message?)'
      fields[#fields + 1] = 'entry'; fields[#fields + 1] = entryId
      rcall('XADD', dlq, 'MAXLEN', '~', maxLen, '*', unpack(fields))
      rcall('XACK', stream, group, entryId)
      rcall('XDEL', stream, entryId)
      dead = dead + 1
    else
      local got = rcall('XCLAIM', stream, group, me, 0, entryId)[1]
      if got then claimed[#claimed + 1] = got end
    end
  end
end
return {claimed, dead, dropped}

--[[
  The consumer group's read position and size, found without listing more than ARGV[2] groups:
  for a queued listing (queue-inspector.ts), the sweep's removal of dead consumers and drain()'s
  backlog.
  KEYS[1] stream
  ARGV[1] consumer group
  ARGV[2] the most consumer groups the stream may have: past it, error 'GROUPS <count>', read
          before any group is (includes/group-row.lua)

  Returns {the group's last delivered entry id, its number of consumers, its pending entries},
  or false (nil to the caller) when there is no stream or no such group. Writes nothing.
  Atomic: the count and the read are one step, so the groups listed are the groups counted.
]]
-- @include group-row

local row, refusal = groupRow(KEYS[1], ARGV[1], tonumber(ARGV[2]))
if refusal then return refusal end
return row and {row['last-delivered-id'], row.consumers, row.pending} or false

--[[
  The consumer group's read position, for a queued listing (queue-inspector.ts), found without
  listing more than ARGV[2] groups.
  KEYS[1] stream
  ARGV[1] consumer group
  ARGV[2] the most consumer groups the stream may have: past it, error 'GROUPS <count>', read
          before any group is (includes/group-row.lua)

  Returns the group's last delivered entry id, or false (nil to the caller) when there is no
  stream or no such group. Writes nothing.
  Atomic: the count and the read are one step, so the groups listed are the groups counted.
]]
-- @include group-row

local row, refusal = groupRow(KEYS[1], ARGV[1], tonumber(ARGV[2]))
if refusal then return refusal end
return row and row['last-delivered-id'] or false

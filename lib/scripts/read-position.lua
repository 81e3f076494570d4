--[[
  The consumer group's read position, for a queued listing (queue-inspector.ts), found without
  listing more than ARGV[2] groups.
  KEYS[1] stream
  ARGV[1] consumer group
  ARGV[2] the most consumer groups the stream may have: past it, error 'GROUPS <count>', read
          before any group is (XINFO GROUPS lists every one, and anyone can create them)

  Returns the group's last delivered entry id, or false (nil to the caller) when there is no
  stream or no such group. Writes nothing.
  Atomic: the count and the read are one step, so the groups listed are the groups counted.
]]
-- @include rcall

local stream, group, limit = KEYS[1], ARGV[1], tonumber(ARGV[2])
if rcall('EXISTS', stream) == 0 then return false end

-- The value of `name` in a flat reply {name, value, ...}.
local function field(flat, name)
  for i = 1, #flat - 1, 2 do
    if flat[i] == name then return flat[i + 1] end
  end
end

local groups = field(rcall('XINFO', 'STREAM', stream), 'groups')
if groups > limit then return redis.error_reply('GROUPS ' .. groups) end
for _, info in ipairs(rcall('XINFO', 'GROUPS', stream)) do
  if field(info, 'name') == group then return field(info, 'last-delivered-id') end
end
return false

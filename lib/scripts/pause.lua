--[[
  Record a pause() or resume() of the queue in one partition's pause record, ordered by version.

  KEYS[1] the partition's pause record (hash: paused '1'|'0', version)

  ARGV[1] '1' pause, '0' resume
  ARGV[2] the call's version; '0' on partition 0, which draws it: the stored version + 1, or
          Redis's clock in ms when that is larger (a record lost with its node does not make
          versions repeat). Elsewhere the record is written only if ARGV[2] is newer than it.
  ARGV[3] the partition's control channel, told 'paused:<version>' or 'resumed:<version>' when
          the record was written (workers then stop or resume at once, not at their next poll)

  Returns {written 1|0, version}: 0 when a newer call already wrote this partition (its state
  stands: every partition ends with the state of the call that wrote partition 0 last).
  Atomic: the version check, the write and the notice are one step.
]]
-- @include rcall
-- @include now-ms

local record = KEYS[1]
local stored = tonumber(rcall('HGET', record, 'version')) or 0
local version = tonumber(ARGV[2])
if version == 0 then
  version = math.max(stored + 1, nowMs())
elseif version <= stored then
  return {0, stored}
end
rcall('HSET', record, 'paused', ARGV[1], 'version', string.format('%d', version))
rcall('PUBLISH', ARGV[3], (ARGV[1] == '1' and 'paused:' or 'resumed:') .. string.format('%d', version))
return {1, version}

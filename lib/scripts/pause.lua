--[[
  Record a pause() or resume() of the queue in one partition's pause record, ordered by version.

  KEYS[1] the partition's pause record (hash: paused '1'|'0', version)

  ARGV[1] '1' pause, '0' resume
  ARGV[2] the call's version; '0' on partition 0, which draws it: above the stored version, above
          ARGV[4] and at least Redis's clock in ms (a record lost with its node does not make
          versions repeat). Elsewhere the record is written only if ARGV[2] is newer than it.
          A stored version that is not an integer from 0 to 2^53-1 counts as 0.
  ARGV[3] the partition's control channel, told 'paused:<version>' or 'resumed:<version>' when
          the record was written (workers then stop or resume at once, not at their next poll)
  ARGV[4] partition 0 only: the floor, the newest version the caller read on any partition (a
          partition that kept a record this one lost, written from a clock ahead of this node's,
          would refuse a version drawn below it); '0' elsewhere
  ARGV[5..] partition 0 only: the other partitions' control channels, checked with its own
          before the write (below)

  Returns {1, version} written; {0, stored} not written, a newer call wrote this partition first
  (its state stands: every partition ends with the state of the call that wrote partition 0
  last); {-1, stored} not written, no version is left above the stored one and the floor
  (2^53-1 reached: a version past it would read as none).
  Atomic: the version check, the write and the notice are one step. A control channel the
  caller's ACL user may not publish to refuses the call before the write (NOPERM,
  includes/notice-check.lua); on partition 0, so does any partition's (ARGV[5..]): its call
  would be refused after partition 0's record was written, the queue in the call's state
  (readers go by the newest record) while the call failed, and every call again the same.
]]
-- @include rcall
-- @include now-ms
-- @include notice-check

local MAX_VERSION = 9007199254740991
local record = KEYS[1]
-- A stored version that is not one (anyone can write it: `x`, `1e300`, `-1`) counts as none: a huge
-- one would refuse every later call here, and one past 2^63 would be written back negative.
local stored = tonumber(rcall('HGET', record, 'version'))
if not (stored and stored >= 0 and stored <= MAX_VERSION and stored == math.floor(stored)) then
  stored = 0
end
local version = tonumber(ARGV[2])
if version == 0 then
  version = math.max(stored + 1, tonumber(ARGV[4]) + 1, nowMs())
  if version > MAX_VERSION then
    return {-1, stored}
  end
elseif version <= stored then
  return {0, stored}
end
-- The notice's channel, checked before the write: a refused PUBLISH after it failed the call
-- with the record written (the queue paused, its caller told of an error). Not the notice moved
-- first: the HSET is the first write, which a Redis out of memory refuses, after the notice.
-- On partition 0, every other partition's too: its call, refused after this write, left the
-- queue in the call's state while the call failed.
noticeCheck(ARGV[3])
for i = 5, #ARGV do noticeCheck(ARGV[i]) end
rcall('HSET', record, 'paused', ARGV[1], 'version', string.format('%d', version))
rcall('PUBLISH', ARGV[3], (ARGV[1] == '1' and 'paused:' or 'resumed:') .. string.format('%d', version))
return {1, version}

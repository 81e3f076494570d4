-- Helper included by the scripts: it reads no KEYS or ARGV of its own.
-- @include utf8-text
-- The longest task id, name and group a worker takes, in UTF-16 code units as JavaScript counts a
-- string's length: lib/task/task-message.ts's MAX_ID_LENGTH, MAX_NAME_LENGTH and MAX_GROUP_LENGTH,
-- the same numbers (test/unit/task-text-bounds.spec.ts fails when they drift).
local MAX_ID_LENGTH, MAX_NAME_LENGTH, MAX_GROUP_LENGTH = 256, 128, 256

local function textWithin(s, max)
  local units = utf16Length(s)
  return units ~= nil and units <= max
end

-- A task name as checkName takes it (lib/task/resolved-task-options.ts, NAME_PATTERN): 1 to
-- MAX_NAME_LENGTH letters, digits, '_', '.', ':' or '-'. So no name meets the fields flow.lua keeps
-- beside the names in its hashes ('\0arrivals', '\0parked', '\0changed\0<name>'), its wakes' '\3'
-- or a pair's NUL.
local function isTaskName(name)
  return #name <= MAX_NAME_LENGTH and string.find(name, '^[A-Za-z0-9_.:%-]+$') ~= nil
end

-- isRoomTaskText(id, name, group): whether a task may enter flow control's admission under this
-- id, name and group ('' = the ungrouped group): the id and the group UTF-8 text within their
-- bounds, the id not empty, the name a task name (isTaskName). Every script that calls flowEnter
-- asks it first, before it writes anything, and refuses the task otherwise (each in its own way:
-- dead-lettered, refused, left). A task waits in the room under a member starting with them, and the queued listing pages with a
-- cursor of that member up to the id, read as UTF-8 text and at most as long as these bounds
-- allow (page-options.ts): text that is not UTF-8 gives a cursor naming another member (the same
-- page again, for ever), a longer one a cursor the next page refuses. A worker takes no such task
-- either (parseEntry: an id or name that long is malformed, a group that long is dropped).
local function isRoomTaskText(id, name, group)
  return id ~= '' and isTaskName(name) and textWithin(id, MAX_ID_LENGTH) and textWithin(group, MAX_GROUP_LENGTH)
end

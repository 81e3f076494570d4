-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments.
-- @include rcall

-- fieldsOf(flat): a flat reply {name, value, ...} (an XINFO reply or row) as a table.
local function fieldsOf(flat)
  local t = {}
  for i = 1, #flat - 1, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

-- groupRow(stream, group, limit): the group's row of XINFO GROUPS as a table (nil: no stream, or
-- no such group), and the stream's XINFO STREAM fields (nil without a stream). Redis has no
-- command that reads one group: XINFO GROUPS lists every one, and anyone who can write to Redis
-- can create groups (XGROUP CREATE, one command each; 200,000 of them make the listing a second
-- of Redis time). So the groups are counted first (XINFO STREAM), and past `limit` none is
-- read: the second value is then the refusal, error 'GROUPS <count>', for the script to return
-- as it is (a raised error would carry the script's name), and the third the stream's fields.
local function groupRow(stream, group, limit)
  if rcall('EXISTS', stream) == 0 then return nil, nil, nil end
  local info = fieldsOf(rcall('XINFO', 'STREAM', stream))
  if info.groups > limit then return nil, redis.error_reply('GROUPS ' .. info.groups), info end
  if info.groups > 0 then
    for _, raw in ipairs(rcall('XINFO', 'GROUPS', stream)) do
      local row = fieldsOf(raw)
      if row.name == group then return row, nil, info end
    end
  end
  return nil, nil, info
end

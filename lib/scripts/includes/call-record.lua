-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes its call's record key and TTL as arguments.
-- @include rcall
-- A call's record: a key named after an id the caller draws per call. ioredis resends a call
-- whose reply was lost with its connection, with the same arguments, and the resend would find
-- what the first execution acted on gone (a dead letter redriven or purged, a task removed) and
-- answer so. The first execution keeps its answer here (for ttl ms; none when ttl is 0), and a
-- resend answers the same, changing nothing.

-- recordedAnswer(record): the text a first execution kept, or nil.
local function recordedAnswer(record)
  return rcall('GET', record) or nil
end

-- recordAnswer(record, ttl, text): keeps `text` as the call's answer, then returns it.
local function recordAnswer(record, ttl, text)
  if tonumber(ttl) > 0 then rcall('SET', record, text, 'PX', ttl) end
  return text
end

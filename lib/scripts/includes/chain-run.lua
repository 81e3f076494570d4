-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the keys and values it works on as arguments.
-- @include rcall
-- @include run-entry

-- isChainRun(stream, keyState, state): the key's live run (`state` queued, delayed or running)
-- is a periodic run, the chain's: its message carries its slot (field d, see message.lua). A
-- one-off run under a schedule's key (a replace()) is not, whatever markers its state still
-- holds. A message that cannot be read (deleted meanwhile, or another task's at its id since a
-- purge: runEntry) is not either. A run waits in the
-- delayed set (field dm) when delayed, and when queued but deferred by claim.lua behind an older
-- run of its key still running: that one has no stream entry (field mid), and read as a one-off.
local function isChainRun(stream, keyState, state)
  local dm = (state == 'delayed' or state == 'queued') and rcall('HGET', keyState, 'dm')
  if state == 'delayed' or dm then
    local ok, m = pcall(cjson.decode, dm or '')
    return ok and type(m) == 'table' and m.d ~= nil
  end
  local entryId, taskId = unpack(rcall('HMGET', keyState, state == 'queued' and 'mid' or 'rmid', 'id'))
  local entry = entryId and runEntry(stream, entryId, taskId)
  if not entry then return false end
  for i = 1, #entry[2], 2 do
    if entry[2][i] == 'd' then return true end
  end
  return false
end

-- liveRunGone(stream, delayed, keyState, state): the key's state says a run waits (`state`
-- queued or delayed) but its message is gone: its delayed member (field dm) is not in the
-- delayed set, or its stream entry (field mid) is not in the stream (someone deleted them, or
-- Redis lost them), or another task took its id (runEntry: a purged stream made anew). A
-- running run, or a waiting one of neither field (it cannot be looked up),
-- is never taken for gone.
local function liveRunGone(stream, delayed, keyState, state)
  if state ~= 'queued' and state ~= 'delayed' then return false end
  local dm, mid, taskId = unpack(rcall('HMGET', keyState, 'dm', 'mid', 'id'))
  if dm then return not rcall('ZSCORE', delayed, dm) end
  if mid then return runEntry(stream, mid, taskId) == nil end
  return false
end

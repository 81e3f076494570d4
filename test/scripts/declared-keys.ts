/**
 * A test double of includes/rcall.lua: redis.call that first checks every key the command
 * touches was declared in KEYS (what Redis Cluster, Dragonfly and cluster proxies require), and
 * fails the script naming the key otherwise. Script specs register the scripts with it (see
 * ScriptFixture), so every scenario they run also proves the scripts declare their keys.
 */
export const DECLARED_KEYS_RCALL = `
-- One local, as the real include has: claim.lua is near Lua's limit of 200 locals in a function.
local rcall
do
  local declaredKeys = {}
  for _, key in ipairs(KEYS) do declaredKeys[key] = true end
  -- Commands whose arguments name no key, and those whose every argument is a key.
  local NO_KEYS = {TIME = true, PUBLISH = true}
  local ALL_KEYS = {DEL = true, EXISTS = true, UNLINK = true}
  function rcall(command, ...)
    local args = {...}
    local name = string.upper(command)
    local touched = {args[1]}
    if NO_KEYS[name] then touched = {}
    elseif ALL_KEYS[name] then touched = args
    elseif name == 'XGROUP' or name == 'XINFO' then touched = {args[2]} end
    for _, key in ipairs(touched) do
      if not declaredKeys[key] then error('undeclared key ' .. tostring(key) .. ' in ' .. name) end
    end
    return redis.call(command, ...)
  end
end
`;

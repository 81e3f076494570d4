-- Helper included by the scripts: it reads no KEYS or ARGV of its own; the including script
-- passes the channel it checks as an argument.

-- noticeCheck(channel): refuses the call, NOPERM naming `channel`, when the caller's ACL user may
-- not publish there. For a script whose notice goes out after writes it cannot simply precede:
-- complete.lua's is built run by run as they settle; dead-letter.lua's and pause.lua's would
-- precede a first write that can still refuse (a dead-letter stream of another type; a Redis out
-- of memory refuses a script's first write, and a PUBLISH is none), its waiters told of what was
-- never written. Redis does not roll a script back, so the PUBLISH's own refusal failed the call
-- after its writes (runs settled, their waiters never told, the caller's retry finding them
-- settled). Asked before the first write, it leaves nothing written. redis.acl_check_cmd (Redis
-- 7.0) is the check Redis runs on that PUBLISH, for the same user; no command of Redis's. It
-- answers no alike for a refused channel and a refused command, so the refusal names both
-- (PUBLISH's own said which: one blaming the channel alone sent an operator whose user lacks
-- +publish to channel rules that allow it).
local function noticeCheck(channel)
  if not redis.acl_check_cmd('PUBLISH', channel, '') then
    error(redis.error_reply("NOPERM the user executing the script can't publish to the channel " .. channel
      .. " its notice goes to: its ACL refuses that channel or the 'publish' command"))
  end
end

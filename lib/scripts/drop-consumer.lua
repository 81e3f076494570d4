--[[
  Remove a dead consumer that holds nothing, so the group's consumer list stays bounded.
  XGROUP DELCONSUMER would discard its pending messages, so emptiness is checked here first.

  KEYS[1] stream
  KEYS[2] the consumer's liveness key

  ARGV[1] consumer group
  ARGV[2] consumer

  Returns 1 removed, 0 kept (alive, or still holding messages).
  Atomic: the emptiness check and the removal are one step.
]]
-- @include rcall
if rcall('EXISTS', KEYS[2]) == 1 then return 0 end
if rcall('XPENDING', KEYS[1], ARGV[1], '-', '+', '1', ARGV[2])[1] then return 0 end
rcall('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1

-- Helper included by the scripts: it reads no KEYS or ARGV of its own.
-- rcall: redis.call under a short name. Every script and include that calls Redis includes this
-- file (the only place redis.call is named), so a test can swap it for one that checks each
-- key a command touches was declared in KEYS.
local rcall = redis.call

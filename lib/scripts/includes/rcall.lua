-- Helper included by the scripts: it reads no KEYS or ARGV of its own.
-- rcall: redis.call under a short name. Every script and include that calls Redis includes this
-- file (the only place redis.call is named), so a test can swap it for one that checks each
-- key a command touches was declared in KEYS.
local rcall = redis.call
-- Numbers go to it as text ('0', not 0): Redis 7.0 formats each Lua number argument with a
-- `%.17g` snprintf, about 2,000 instructions (test/scripts/settle-number-arguments.spec.ts
-- holds the settle to it).

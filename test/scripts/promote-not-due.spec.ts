import { promoteScript } from '../../lib/scripts/promote.script';
import { closeAll } from '../utils/helpers';
import { ScriptFixture } from './script-fixture';

// promote.lua moves the members its caller read as due (read-due.lua), in a later call: each is
// re-checked there, so one re-timed in between is not moved before its time.
describe('promote: a named member that is not due stays delayed', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it('a member read as due, then re-timed to later before the promotion, is skipped', async () => {
    await f.enqueue({ delayMs: 1 });
    const [member] = await f.redis.zrange(f.keys.delayed, 0, 0);
    // Between the read and the move: the same member put back an hour later.
    await f.redis.zadd(f.keys.delayed, Date.now() + 3_600_000, member);
    const reply = await promoteScript(f.keys, {
      members: [member],
      limit: 100,
      deadLetterMaxLen: 100,
      stateTtlMs: 60_000,
    }).run(f.redis);
    expect(reply.moved).toBe(0);
    expect(reply.nextDueInMs).toBeGreaterThan(3_500_000);
    expect(await f.redis.xlen(f.keys.stream)).toBe(0);
    expect(await f.redis.zscore(f.keys.delayed, member)).not.toBeNull();
  });
});

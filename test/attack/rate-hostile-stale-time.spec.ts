import type { FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { closeAll } from '../utils/helpers';
import { ScriptFixture } from '../scripts/script-fixture';

/**
 * Attack on the time part of F.starts members, continued (rate-hostile-start-times.spec.ts): the
 * window's trim is lexical, and only 16-digit times sort as numbers, so a member whose time is a
 * number with fewer digits ('1000000000000', 13 digits: September 2001) sorts after every start
 * record and is never trimmed, though the number lies long before the window. rateWaitMs read it
 * as the window's oldest start and answered the least wait, 1 ms: every waiting pair's wake fell
 * due each millisecond (every worker's promotion ran every millisecond, re-parking the pairs), and
 * a held restart was claimed again each millisecond, for as long as the member stayed.
 */
describe('attack: a start time in a rate window that lies before the window', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const PER_MS = 60_000;
  const limits: FlowLimits = { global: 0, group: 0, agingMs: 1000, rate: { max: 1, perMs: PER_MS } };
  const hostile = () => f.redis.zadd(f.keys.flow.starts, 0, `t\0job\x001000000000000\0x`);
  const redisMs = async () => {
    const [s, us] = await f.redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };

  it('a task waiting behind it is woken perMs later, not every millisecond', async () => {
    await hostile();
    const before = await redisMs();
    expect((await f.enqueueFlow('t1', limits)).entryId).toBeUndefined(); // the window reads full
    expect(Number(await f.redis.zscore(f.keys.flow.wake, 'job'))).toBeGreaterThanOrEqual(before + PER_MS);
    const { nextDueInMs } = await f.promote();
    expect(nextDueInMs).toBeGreaterThan(PER_MS / 2);
  });

  it('a restart held behind it is told to wait perMs, not 1 ms', async () => {
    const first = await f.enqueueFlow('t1', limits);
    const [[entryId]] = await f.deliver('a');
    await f.redis.del(f.keys.flow.starts); // its marker gone: it starts as a restart does
    await hostile();
    const [verdict] = await f.claimRated('a', entryId, first.id, limits);
    expect(verdict).toEqual({ verdict: 'wait', waitMs: PER_MS });
  });
});

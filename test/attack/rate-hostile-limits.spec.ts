import type { FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { MAX_TIMER_MS } from '../../lib/stream-queue.constants';
import { closeAll } from '../utils/helpers';
import { ScriptFixture } from '../scripts/script-fixture';

/**
 * Attack on the rates recorded in F.limits: anyone who can write to Redis can record a perMs
 * with more digits than any enqueue writes (enqueues check it against MAX_TIMER_MS). A worker
 * whose own definition has no rate gates a marked run's start by the recorded rates; a restart
 * told to wait there was given a wait of about perMs: 1e20 ms, which Redis turns into a negative
 * integer reply, and a Node timer of a negative (or too long) delay fires after 1 ms, so the
 * held run was claimed again every millisecond.
 */
describe('attack: an overlong perMs recorded in F.limits', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const claim = (consumer: string, entryId: string, taskId: string, ownLimits?: FlowLimits) =>
    f.claimRated(consumer, entryId, taskId, ownLimits);

  it('a restart held under it waits within a Node timer', async () => {
    const limits: FlowLimits = { global: 0, group: 0, agingMs: 1000, rate: { max: 1, perMs: 60_000 } };
    const first = await f.enqueueFlow('t1', limits);
    const [[entryId]] = await f.deliver('dead');
    expect((await claim('dead', entryId, first.id))[0].verdict).toBe('run');
    await f.reclaim('b', [[entryId, 'dead']]);
    await f.redis.hset(f.keys.flow.limits, 'job', '0 0 1000 1 99999999999999999999 0 0');
    const [verdict] = await claim('b', entryId, first.id); // b's definition has no rate
    expect(verdict.verdict).toBe('wait');
    const { waitMs } = verdict as { waitMs: number };
    expect(waitMs).toBeGreaterThan(0);
    expect(waitMs).toBeLessThanOrEqual(MAX_TIMER_MS);
  });
});

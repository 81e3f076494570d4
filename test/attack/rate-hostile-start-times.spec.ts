import type { FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { MAX_TIMER_MS } from '../../lib/stream-queue.constants';
import { closeAll } from '../utils/helpers';
import { ScriptFixture } from '../scripts/script-fixture';

/**
 * Attack on the time part of F.starts members: anyone who can write to Redis can add a member to
 * a window whose time is not a number ('999999999999999-' sorts after every start record and
 * before the markers, so the window trim keeps it) or lies in the future. rateWaitMs read the
 * time of a full window's first member with tonumber and added perMs: a member not a number made
 * every script that meets the full window fail (the settle whose feed met it failed after its
 * ack, with the pair popped from the ring but still marked ringed: its waiting task was never
 * fed again, even once the member was gone); one in the future gave a wait beyond a Node timer's
 * range, which fires after 1 ms (a held run claimed again every millisecond).
 */
describe('attack: hostile start times in a rate window', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const PER_MS = 60_000;
  const claim = (consumer: string, entryId: string, taskId: string, ownLimits?: FlowLimits) =>
    f.claimRated(consumer, entryId, taskId, ownLimits);
  /** Each start record of the window moves `ms` back: time passes for it. */
  const ageRecords = async (ms: number) => {
    for (const member of await f.redis.zrange(f.keys.flow.starts, 0, -1)) {
      const parts = member.split('\0');
      if (!/^\d{16}$/.test(parts[2]) || parts[2].startsWith('999999999999999')) continue;
      parts[2] = String(Number(parts[2]) - ms).padStart(16, '0');
      await f.redis.multi().zrem(f.keys.flow.starts, member).zadd(f.keys.flow.starts, 0, parts.join('\0')).exec();
    }
  };
  const hostile = (time: string) => f.redis.zadd(f.keys.flow.starts, 0, `t\0job\0${time}\0x`);

  it('a time that is no number: the settle that meets the full window succeeds, and the waiting task runs later', async () => {
    const limits: FlowLimits = { global: 1, group: 0, agingMs: 1000, rate: { max: 1, perMs: PER_MS } };
    const first = await f.enqueueFlow('t1', limits);
    expect((await f.enqueueFlow('t2', limits)).entryId).toBeUndefined(); // waits for the global slot
    const [[entryId]] = await f.deliver('a');
    expect((await claim('a', entryId, first.id, limits))[0].verdict).toBe('run');
    await ageRecords(PER_MS); // t1's start has left its window
    await hostile('999999999999999-');

    // The settle releases the slot and meets the full window: it waits for its wake, no error.
    await f.complete('a', [{ entryId, id: first.id, flow: true }]);
    expect(await f.redis.zscore(f.keys.flow.wake, 'job')).not.toBeNull();
    // Once the member is gone and the wake is due, t2 is admitted.
    await f.redis.del(f.keys.flow.starts);
    await f.redis.zadd(f.keys.flow.wake, 0, 'job');
    await f.promote();
    expect((await f.deliver('a')).map(([, fields]) => fields.id)).toEqual(['t2']);
  });

  it('a time in the future: a restart is told to wait at most perMs (a Node timer)', async () => {
    const limits: FlowLimits = { global: 0, group: 0, agingMs: 1000, rate: { max: 1, perMs: PER_MS } };
    const first = await f.enqueueFlow('t1', limits);
    const [[entryId]] = await f.deliver('a');
    await f.redis.del(f.keys.flow.starts); // its marker gone: it starts as a restart does
    await hostile('5000000000000000'); // about 156,000 years ahead
    const [verdict] = await claim('a', entryId, first.id, limits);
    expect(verdict.verdict).toBe('wait');
    const { waitMs } = verdict as { waitMs: number };
    expect(waitMs).toBeGreaterThan(0);
    expect(waitMs).toBeLessThanOrEqual(Math.min(PER_MS, MAX_TIMER_MS));
  });
});

import { closeAll } from '../utils/helpers';
import { ScriptFixture, rateLimits } from './script-fixture';
import { heldTaskIds, waitingTaskIds } from '../fixtures/flow-state';

/**
 * A raised rate limit admits the waiting backlog up to the new limit at the enqueue that records
 * it, as a raised concurrency limit does (README, "Flow control"). The pairs waiting for the old
 * window (parked for the task's window, or out of the ring for their group's) used to wait for
 * the old window's wake: with only unstarted tokens in it, perMs + 60 s away.
 */
describe('a raised rate limit admits the waiting backlog at the enqueue that records it', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = rateLimits;

  it('rateLimit 1 per minute raised to 10: the waiting tasks of both groups and the newcomer start', async () => {
    const one = limits({ max: 1, perMs: 60_000 });
    expect((await f.enqueueFlow('a1', one, 'A')).entryId).toBeDefined();
    for (const [id, group] of [
      ['a2', 'A'],
      ['b1', 'B'],
    ])
      expect((await f.enqueueFlow(id, one, group)).entryId).toBeUndefined();
    const ten = limits({ max: 10, perMs: 60_000 });
    expect((await f.enqueueFlow('c1', ten, 'C')).entryId).toBeDefined();
    expect(await heldTaskIds(f.redis, f.keys)).toEqual(['a1', 'a2', 'b1', 'c1']);
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual([]);
  });

  it('a change that leaves the window full unparks nothing: an enqueue of a rolling deploy stays cheap', async () => {
    const one = limits({ max: 1, perMs: 60_000 });
    expect((await f.enqueueFlow('a1', one, 'A')).entryId).toBeDefined();
    for (const [id, group] of [
      ['a2', 'A'],
      ['b1', 'B'],
    ])
      expect((await f.enqueueFlow(id, one, group)).entryId).toBeUndefined();
    const parked = await f.redis.zrange(f.keys.flow.parked, 0, -1);
    expect(parked).toHaveLength(2);
    expect((await f.enqueueFlow('c1', limits({ max: 1, perMs: 30_000 }), 'C')).entryId).toBeUndefined();
    expect(await f.redis.zrange(f.keys.flow.parked, 0, -1)).toEqual(expect.arrayContaining(parked));
    expect(await heldTaskIds(f.redis, f.keys)).toEqual(['a1']);
  });

  it('groupRateLimit 1 per minute raised to 10: the group waiting on its window starts', async () => {
    const one = limits(undefined, { max: 1, perMs: 60_000 });
    expect((await f.enqueueFlow('a1', one, 'A')).entryId).toBeDefined();
    expect((await f.enqueueFlow('a2', one, 'A')).entryId).toBeUndefined();
    expect((await f.enqueueFlow('b1', limits(undefined, { max: 10, perMs: 60_000 }), 'B')).entryId).toBeDefined();
    expect(await heldTaskIds(f.redis, f.keys)).toEqual(['a1', 'a2', 'b1']);
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual([]);
  });
});

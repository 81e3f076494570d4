import { enqueueFlowScript, type FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { closeAll } from '../utils/helpers';
import { ScriptFixture } from '../scripts/script-fixture';
import { heldTaskIds } from '../fixtures/flow-state';

/**
 * Attack on flowRelease's fast path (a38eacc): "when no other pair waits in the ring, the
 * released pair's next task is admitted at once". The fast path checks the global slot but not
 * the group slot: it assumes a release always frees one under the group limit. A group limit
 * lowered since the runs were admitted (a new @Task definition deployed, an enqueue from it
 * records the new limits) leaves more runs held than the limit. flowFeed honours it (groupFree),
 * the fast path does not: a release admits the next task while the group still holds runs at or
 * above its new limit, so groupConcurrency 1 runs three at once. Guarantee 3: limits exact.
 */
describe('attack: the release fast path ignores the group limit', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  let n = 0;
  const enqueue = (limits: FlowLimits) =>
    enqueueFlowScript(f.keys, { id: `t${++n}`, name: 'job', payload: '{}', delayMs: 0, runAt: 0, group: 'G', limits })
      .run(f.redis)
      .then((reply) => reply as { id: string; entryId?: string });
  const groupHeld = async () => Number((await f.redis.hget(f.keys.flow.count, 'job\0G')) ?? 0);

  it('a release does not admit into a group that holds its (lowered) limit already', async () => {
    const three = { global: 0, group: 3, agingMs: 1000 };
    const one = { global: 0, group: 1, agingMs: 1000 };
    const admitted = [await enqueue(three), await enqueue(three), await enqueue(three)];
    expect(admitted.every((r) => r.entryId !== undefined)).toBe(true);
    // The new definition (groupConcurrency 1) is deployed: its enqueue waits, the group is full.
    const waiting = await enqueue(one);
    expect(waiting.entryId).toBeUndefined();
    expect(await groupHeld()).toBe(3);
    // The ring is empty (a full group's pair is out of it): the next release takes the fast path.
    expect(await f.redis.llen(f.keys.flow.ring)).toBe(0);

    const delivered = await f.deliver('a');
    expect(await f.complete('a', [{ entryId: delivered[0][0], id: admitted[0].id, flow: true }])).toEqual([
      'completed',
    ]);

    // Two runs of G still hold slots under a limit of 1: nothing may be admitted.
    expect(await groupHeld()).toBeLessThanOrEqual(2);
    expect(await heldTaskIds(f.redis, f.keys)).not.toContain(waiting.id);
  });

  it('a group limit raised by another group’s enqueue fills the full groups at once, and releases keep them full', async () => {
    const one = { global: 0, group: 1, agingMs: 1000 };
    const two = { global: 0, group: 2, agingMs: 1000 };
    const first = await enqueue(one);
    const [second, third, fourth] = [await enqueue(one), await enqueue(one), await enqueue(one)];
    // The new definition (groupConcurrency 2) is recorded by an enqueue into another group: G's
    // pair, full under the old limit, was out of the ring; the change rings it and admits.
    const raise = (id: string) =>
      enqueueFlowScript(f.keys, { id, name: 'job', payload: '{}', delayMs: 0, runAt: 0, group: 'H', limits: two }).run(
        f.redis,
      );
    await raise('h');
    expect(await heldTaskIds(f.redis, f.keys)).toEqual(['h', first.id, second.id].sort());
    const delivered = await f.deliver('a');
    const entryOf = (id: string) => delivered.find(([, fields]) => fields.id === id)![0];
    expect(await f.complete('a', [{ entryId: entryOf(first.id), id: first.id, flow: true }])).toEqual(['completed']);
    // The release hands its slot to the third task: G stays at its new limit.
    expect(await heldTaskIds(f.redis, f.keys)).toEqual(['h', second.id, third.id].sort());
    expect(await groupHeld()).toBe(2);
    expect(await heldTaskIds(f.redis, f.keys)).not.toContain(fourth.id);
  });

  it('a raise rings at most 100 waiting groups at once: an enqueue in a rolling deploy stays bounded', async () => {
    const one = { global: 0, group: 1, agingMs: 1000 };
    const two = { global: 0, group: 2, agingMs: 1000 };
    const add = (id: string, group: string, limits: FlowLimits) =>
      enqueueFlowScript(f.keys, { id, name: 'job', payload: '{}', delayMs: 0, runAt: 0, group, limits }).run(f.redis);
    for (let g = 0; g < 150; g++) {
      await add(`run-${g}`, `g${String(g).padStart(3, '0')}`, one);
      await add(`wait-${g}`, `g${String(g).padStart(3, '0')}`, one);
    }
    await add('raise', 'z', two);
    const held = await heldTaskIds(f.redis, f.keys);
    // The first 100 groups (in group order) admit their waiting task; the other 50 at their next settle.
    expect(held.filter((id) => id.startsWith('wait-')).length).toBe(100);
    expect(held).toContain('wait-99');
    expect(held).not.toContain('wait-100');
  });
});

import { closeAll, sleep } from '../utils/helpers';
import { heldTaskIds } from '../fixtures/flow-state';
import { ScriptFixture } from './script-fixture';

/**
 * DESIGN, flow control held by leases: a slot is released by the fenced settle or the reclaim of
 * a dead owner's run, never by a TTL racing a live run. A long run keeps its slot however long it
 * runs, and no flow key carries an expiry that could drop the count under it.
 */
describe('flow slots: held by the run, not by a TTL', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = { global: 1, group: 0, agingMs: 1000 };

  it('a run that holds its slot for a long time still holds it: the next task waits', async () => {
    const a = await f.enqueueFlow('t1', limits);
    expect(a.entryId).toBeDefined();
    await f.deliver('a'); // running, unsettled
    for (const key of f.keys.flowKeys) expect(await f.redis.pttl(key)).toBeLessThan(0); // -1 none, -2 no key
    await sleep(1_000);
    const b = await f.enqueueFlow('t2', limits);
    expect(b.entryId).toBeUndefined(); // waits in the room
    expect(await heldTaskIds(f.redis, f.keys)).toEqual([a.id]);
    expect(await f.redis.xlen(f.keys.stream)).toBe(1);
  });
});

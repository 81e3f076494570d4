import { enqueueFlowScript, type FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { removeTaskScript } from '../../lib/scripts/remove-task.script';
import { closeAll } from '../utils/helpers';
import { heldTaskIds, waitingTaskIds } from '../fixtures/flow-state';
import { LEASE_MS, ScriptFixture } from './script-fixture';

/**
 * A script call asks once whether the waiting room and the parked pairs are empty (flow.lua
 * roomEmpty, rate.lua parkedEmpty) and must forget the answer when it adds to them: a release or
 * a feed later in the same call that trusted a stale "empty" would leave a free slot idle beside
 * a waiting task. Each case here is a call that first finds one empty, then fills it, then reads
 * it again.
 */
describe('flow lookups a script call caches: the room and the parked pairs, once empty', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const enqueue = (id: string, name: string, limits: FlowLimits, group = '', delayMs = 0) =>
    enqueueFlowScript(f.keys, { id, name, payload: '{}', delayMs, runAt: 0, group: group || undefined, limits }).run(
      f.redis,
    );

  it('a settle batch whose first release parks a pair serves it at the second release, which frees its slot', async () => {
    const wide: FlowLimits = { global: 10, group: 0, agingMs: 1000 };
    const single: FlowLimits = { global: 1, group: 0, agingMs: 1000 };
    await enqueue('a1', 'A', wide);
    await enqueue('b1', 'B', single, 'g1');
    await enqueue('b2', 'B', single, 'g2'); // B's one slot is b1's: b2 waits, its pair in the ring
    expect(await f.redis.exists(f.keys.flow.parked)).toBe(0);
    const runs = await f.deliver('a');
    const entryOf = (id: string) => runs.find(([, fields]) => fields.id === id)![0];
    // a1's release asks for A's parked pairs (none: the set is empty) and feeds the ring, where B's
    // pair meets B's full slot and parks; b1's release then frees that slot: b2 takes it.
    await f.complete('a', [
      { entryId: entryOf('a1'), id: 'a1', flow: true },
      { entryId: entryOf('b1'), id: 'b1', flow: true },
    ]);
    expect(await heldTaskIds(f.redis, f.keys)).toEqual(['b2']);
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual([]);
    expect(await f.redis.exists(f.keys.flow.parked)).toBe(0);
  });

  it('an enqueue into an empty room behind a full rate window parks its pair for the wake', async () => {
    const rated: FlowLimits = { global: 0, group: 0, agingMs: 1000, rate: { max: 1, perMs: 60_000 } };
    await enqueue('r1', 'R', rated); // the window's one token
    expect(await f.redis.exists(f.keys.flow.room)).toBe(0);
    // r2's admission check finds the room empty; r2 then enters it and the feed that follows must
    // find it there, or its pair leaves the ring with no wake to bring it back.
    await enqueue('r2', 'R', rated);
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual(['r2']);
    expect((await f.redis.zrange(f.keys.flow.parked, 0, -1)).map((m) => m.split('\0')[0])).toEqual(['R']);
    // The window frees (its token given back, as a removal of r1's entry that never ran would):
    // the promotion's wake admits r2.
    await f.redis.del(f.keys.flow.starts);
    await f.redis.zadd(f.keys.flow.wake, 0, 'R');
    await f.promote();
    expect(await heldTaskIds(f.redis, f.keys)).toEqual(['r1', 'r2']);
  });

  it('a promotion that enters a due task into an empty room, then serves a due wake, admits it', async () => {
    const rated: FlowLimits = { global: 0, group: 0, agingMs: 1000, rate: { max: 1, perMs: 60_000 } };
    await enqueue('r1', 'R', rated); // the window's one token
    await enqueue('r2', 'R', rated); // waits: R's pair parks for the window, with its wake
    // r2 removed: the room is empty, R's pair stays parked behind its wake.
    expect(await removeTaskScript(f.keys, { id: 'r2', state: 'waiting' }, LEASE_MS).run(f.redis)).toBe('removed');
    expect(await f.redis.exists(f.keys.flow.room)).toBe(0);
    await enqueue('r3', 'R', rated, '', 1); // due in a millisecond: the promotion enters it
    await new Promise((resolve) => setTimeout(resolve, 5));
    // The window frees and its wake is due: in one call the promotion enters r3 (its check found
    // the room empty; the pairs parked before it come first, so it waits), then unparks R's pair.
    await f.redis.del(f.keys.flow.starts);
    await f.redis.zadd(f.keys.flow.wake, 0, 'R');
    await f.promote();
    expect(await heldTaskIds(f.redis, f.keys)).toEqual(['r1', 'r3']);
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual([]);
  });
});

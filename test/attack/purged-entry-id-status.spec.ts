import { readUnkeyedStatus } from '../../lib/client/task-status';
import { ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/redis';
import { reusedEntryIds } from '../fixtures/reused-entry-ids';

/**
 * Attack on a handle's status() and result() (settled-state.lua, read-only) of a task whose
 * entry was purged (an operator's DEL of the stream; the next read makes the group again) and
 * whose entry id a new task then took: a stream made anew numbers its entries from Redis's clock
 * alone, so a task enqueued in the purged entry's millisecond (or after the clock went back)
 * takes its id. Here the stream's last id stands for the clock, as in
 * purged-entry-id-reuse.spec.ts. The read took whatever task sat at the handle's entry id for
 * the handle's own: the purged task read 'pending' (queued, then running) for as long as the
 * other one waited or ran. It must read as a task whose entry is gone, as it did before the id
 * was taken.
 */
describe('attack: status() of a purged task whose entry id another task took', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);
  const { setClock, purge, entryIds } = reusedEntryIds(() => f);

  const stateOf = async (id: string, entryId: string) => (await readUnkeyedStatus(f.redis, f.keys, id, entryId)).state;

  it('reads as gone while the other task waits, and while it runs', async () => {
    await setClock();
    const [purged] = await f.enqueue();
    const [entryId] = await entryIds();
    // Gone with its entry: the handle reads it so before any other task takes the id.
    await purge();
    expect(await stateOf(purged, entryId)).toBe('completed');
    const [other] = await f.enqueue();
    expect(await entryIds()).toEqual([entryId]);
    expect(await stateOf(other, entryId)).toBe('pending');
    expect(await stateOf(purged, entryId)).toBe('completed');
    await f.deliver('a');
    expect(await stateOf(other, entryId)).toBe('pending');
    expect(await stateOf(purged, entryId)).toBe('completed');
  });

  it("reads a task's own packed entry (admitted from the waiting room) as its own", async () => {
    const limits = { global: 1, group: 0, agingMs: 1000 };
    await f.enqueueFlow('a', limits);
    await f.enqueueFlow('b', limits);
    const [[entryA]] = await f.deliver('w');
    await f.complete('w', [{ entryId: entryA, id: 'a', result: '', flow: true }]);
    const [[entryB, raw]] = await f.redis.xrange(f.keys.stream, `(${entryA}`, '+');
    expect(raw).toContain('j');
    expect(await stateOf('b', entryB)).toBe('pending');
    expect(await stateOf('x', entryB)).toBe('completed');
  });
});

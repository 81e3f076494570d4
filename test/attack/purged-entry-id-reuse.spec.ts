import { removeTaskScript } from '../../lib/scripts/remove-task.script';
import { schedulePeriodicScript } from '../../lib/scripts/schedule-periodic.script';
import { ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/redis';
import { reusedEntryIds } from '../fixtures/reused-entry-ids';

/**
 * Attack on the scripts that delete a key's queued run by the entry id its key state names
 * (field mid): cancel.lua, a replace() (enqueue.lua), a periodic replace() (first-run.lua) and
 * remove-task.lua. A stream made anew numbers its entries from Redis's clock alone: after an
 * operator's DEL of the stream (the next worker read makes the group again), an entry added in
 * the millisecond of a purged one takes that one's id, and so does one added after the clock
 * went back (a Redis restart on another clock). The state still names the purged entry, so
 * its XDEL deleted the UNRELATED task now at that id, which never ran. Here the stream's last id
 * stands for the clock: XSETID before the keyed run and again after the purge makes the next
 * XADD * take the purged entry's id, as Redis does to a fresh stream in that millisecond.
 */
describe('attack: a purged run whose entry id a new task took', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);
  const { setClock, purge, entryIds, taskAt } = reusedEntryIds(() => f);

  /** Key k's run queued, the stream purged, and an unkeyed task enqueued at the purged id: its id. */
  async function unrelatedAtPurgedId(): Promise<{ mid: string; other: string }> {
    await setClock();
    await f.enqueue({ key: 'k' });
    const { mid } = await f.keyState('k');
    await purge();
    const [other] = await f.enqueue();
    expect(await entryIds()).toEqual([mid]);
    expect(await taskAt(mid)).toBe(other);
    return { mid, other };
  }

  it('cancel() of the key leaves the task at that id', async () => {
    const { mid, other } = await unrelatedAtPurgedId();
    expect(await f.cancel('k')).toBe('cancelled');
    expect(await taskAt(mid)).toBe(other);
    expect((await f.keyState('k')).state).toBe('cancelled');
  });

  it('replace() of the key leaves the task at that id', async () => {
    const { mid, other } = await unrelatedAtPurgedId();
    const [id, , outcome] = await f.enqueue({ key: 'k', mode: 'replace' });
    expect(outcome).toBe('created');
    expect(await taskAt(mid)).toBe(other);
    expect(await taskAt((await f.keyState('k')).mid)).toBe(id);
  });

  it('an enqueue of the key does not return the purged run as live', async () => {
    await unrelatedAtPurgedId();
    const [id, , outcome] = await f.enqueue({ key: 'k' });
    expect(outcome).toBe('created');
    expect(await taskAt((await f.keyState('k')).mid)).toBe(id);
  });

  it("replace() of the key keeps its own new run, written at the purged run's id", async () => {
    await setClock();
    await f.enqueue({ key: 'k' });
    const { mid } = await f.keyState('k');
    await purge();
    const [id] = await f.enqueue({ key: 'k', mode: 'replace' });
    expect((await f.keyState('k')).mid).toBe(mid);
    expect(await taskAt(mid)).toBe(id);
  });

  it("a periodic replace() leaves the task at its purged run's id", async () => {
    const replace = (delayMs: number) =>
      schedulePeriodicScript(f.keys, {
        mode: 'replace',
        name: 'job',
        queue: 'q',
        payload: '"x"',
        schedule: { every: 3_600_000 },
        runAt: 0,
        delayMs,
      }).run(f.redis);
    await setClock();
    await replace(0);
    const { mid } = await f.keyState('periodic:job');
    await purge();
    const [other] = await f.enqueue();
    expect(await taskAt(mid)).toBe(other);
    expect((await replace(60_000)).outcome).toBe('replaced');
    expect(await taskAt(mid)).toBe(other);
  });

  it('remove() of the purged task leaves the task at that id (it checked the entry already)', async () => {
    await setClock();
    const [purgedId] = await f.enqueue({ key: 'k' });
    const { mid } = await f.keyState('k');
    await purge();
    const [other] = await f.enqueue();
    const task = { id: purgedId, key: 'k', state: 'queued' as const, entryId: mid };
    expect(await removeTaskScript(f.keys, task, 1000).run(f.redis)).toBe('not-there');
    expect(await taskAt(mid)).toBe(other);
  });
});

import { FleetReads } from '../../lib/client/fleet-reads';
import { ScriptFixture } from '../scripts/script-fixture';
import { fleetReadsHeldAfterFirst } from '../fixtures/held-fleet-reads';
import { closeAll, Latch } from '../utils/helpers';

/**
 * A page past a room cursor reads the room, then the stream past the cursor's entry: a task
 * admitted from the room between the two reads is in both (listed once, as the stream task it is
 * now). Read the other way round, a task admitted between them would be in neither, and the
 * last page would miss it. The interleaving is forced on the listing's own connection: its
 * first read of the page answers only once a settle has admitted the task.
 */
describe('attack: a task admitted from the room while a room page is read', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = { global: 1, group: 0, agingMs: 1000 };

  it('is listed, once', async () => {
    await f.enqueueFlow('a', limits);
    const [[entryA]] = await f.deliver('a'); // 'a' runs, holding the one slot
    await f.enqueueFlow('w1', limits);
    await f.enqueueFlow('w2', limits); // behind w1
    const first = await new FleetReads(f.redis, () => [f.keys], 60_000).list('queued', { queue: 'q', limit: 1 });
    expect(first.tasks.map((t) => [t.id, t.waitingForSlot])).toEqual([['w1', true]]);
    expect(await f.complete('a', [{ entryId: entryA, id: 'a', result: '', flow: true }])).toEqual(['completed']);
    const [[entryW1]] = await f.deliver('b'); // w1 admitted and running: w2, past the cursor, waits
    const admitted = new Latch();
    const read = new Latch();
    const page = fleetReadsHeldAfterFirst(f.keys, ['xrange', 'zrangebylex'], admitted, read).list('queued', {
      queue: 'q',
      limit: 10,
      cursor: first.cursor!,
    });
    await read.wait();
    expect(await f.complete('b', [{ entryId: entryW1, id: 'w1', result: '', flow: true }])).toEqual(['completed']);
    expect(await f.redis.hget(f.keys.flow.tasks, 'w2')).toMatch(/^\d+-\d+\0/); // admitted: in the stream
    admitted.open();
    const { tasks, cursor } = await page;
    expect(tasks.map((t) => [t.id, t.waitingForSlot ?? false])).toEqual([['w2', false]]);
    expect(cursor).toBeNull();
  });
});

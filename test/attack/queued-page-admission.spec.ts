import { ScriptFixture } from '../scripts/script-fixture';
import { fleetReadsHeldAfterFirst } from '../fixtures/held-fleet-reads';
import { closeAll, Latch } from '../utils/helpers';

/**
 * A queued page reads the stream's unread tasks (XRANGE), then the waiting room (ZRANGEBYLEX).
 * A task admitted from the room between the two reads had left the room for the stream's end,
 * past what the XRANGE read: it was in neither, and the page said nothing was queued ({ tasks: [],
 * cursor: null } with the task unread in the stream). The interleaving is forced on the
 * listing's own connection: its stream read answers only once a settle has admitted the task.
 */
describe('attack: a task admitted from the room while a queued page is read', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = { global: 1, group: 0, agingMs: 1000 };

  it.each([1, 2, 10])('is listed (page of %i), once', async (limit) => {
    await f.enqueueFlow('a', limits);
    const [[entryA]] = await f.deliver('a'); // 'a' runs, holding the one slot
    await f.enqueueFlow('t', limits); // waits in the room
    await f.enqueueFlow('u', limits); // behind it
    const admitted = new Latch();
    const read = new Latch();
    const page = fleetReadsHeldAfterFirst(f.keys, ['xrange'], admitted, read).list('queued', { queue: 'q', limit });
    await read.wait(); // the stream part is read: nothing unread
    expect(await f.complete('a', [{ entryId: entryA, id: 'a', result: '', flow: true }])).toEqual(['completed']);
    expect(await f.redis.hget(f.keys.flow.tasks, 't')).toMatch(/^\d+-\d+\0/); // admitted: in the stream
    admitted.open();
    const { tasks } = await page;
    expect(tasks.map((t) => [t.id, t.waitingForSlot ?? false])).toEqual(
      [
        ['t', false],
        ['u', true],
      ].slice(0, limit),
    );
  });
});

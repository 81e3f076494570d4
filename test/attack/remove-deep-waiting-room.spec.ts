import { FleetReads } from '../../lib/client/fleet-reads';
import { hookCommands } from '../fixtures/command-hooks';
import { useProbeApps } from '../fixtures/probe-apps';
import { ledger, outcomeOf, RemovalTasksModule } from '../fixtures/removal-tasks';
import { startApp, type TestApp } from '../fixtures/test-app';
import { sleep, waitFor } from '../utils/helpers';

/**
 * remove(id) and findTask(id) page the listings with MAX_PAGE_SIZE (500). A queued page that ends
 * in the flow waiting room returns a room cursor ('w:<base64url>'); passed back as a stream entry
 * id (not through checkPage, which makes it the room's), the next page's XRANGE got '(w:...' and
 * Redis refused it, or, with a '-' early in the cursor, it read as an entry id below the group's
 * read position: the same page came back with the same cursor, for ever.
 */
describe('remove() and findTask() past the first 500 tasks of the waiting room', () => {
  const env = useProbeApps();
  beforeEach(() => ledger.reset());
  afterEach(() => ledger.gate.open());

  /** An app whose one slot of `task` is held by a blocked run, with `count` more waiting in `group`. */
  async function deepRoom(task: string, group: string, count: number): Promise<{ a: TestApp; ids: string[] }> {
    const a = await startApp({ prefix: env.prefix, imports: [RemovalTasksModule], options: { concurrency: 4 } });
    await a.client.enqueue(task, { block: true });
    await waitFor(() => ledger.starts.length === 1);
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push((await a.client.enqueue(task, { i }, { group })).id);
    expect((await a.client.counts()).waitingForSlot).toBe(count);
    return { a, ids };
  }

  it('finds the 600th waiting task as the listing shows it, and removes it', async () => {
    const { a, ids } = await deepRoom('removal.one', 'g', 600);
    const first = await a.client.list('queued', { limit: 500 });
    const listed = (await a.client.list('queued', { limit: 500, cursor: first.cursor! })).tasks.find(
      (t) => t.id === ids[599],
    );
    const found = await outcomeOf(a.client.findTask(ids[599]).then((r) => r.task));
    const removed = await outcomeOf(a.client.remove(ids[599]));
    expect({ found, removed }).toEqual({ found: { resolved: listed }, removed: { resolved: undefined } });
    expect((await a.client.counts()).waitingForSlot).toBe(599);
  });

  it('an id in no listing: findTask pages the whole room and finds nothing, remove says not found', async () => {
    const { a } = await deepRoom('removal.one', 'g', 600);
    const within5s = (call: Promise<unknown>) =>
      Promise.race([outcomeOf(call), sleep(5_000).then(() => 'still running after 5 s')]);
    const found = await within5s(a.client.findTask('no-such-task').then((r) => r.task));
    const removed = await within5s(a.client.remove('no-such-task'));
    expect({ found, removed }).toEqual({ found: { resolved: undefined }, removed: { rejected: 'TaskNotFoundError' } });
  });

  // Task 'x', group '~g': the room members begin 'x\0~', base64url 'eAB-': the cursor 'w:eAB-...'
  // parsed as an entry id of 3 digits, "below" the read position, and locate() read page one again.
  it('pages past a room cursor with an early "-" once, never in a loop', async () => {
    const { a, ids } = await deepRoom('x', '~g', 501);
    const page = await a.client.list('queued', { limit: 500 });
    expect(page.cursor?.slice(0, 6)).toBe('w:eAB-');
    // The code path of client.remove, on a connection that counts the room reads.
    const { proxy, hooks } = hookCommands({ zrangebylex: {} });
    const fleet = new FleetReads(proxy, () => [a.keys], 60_000);
    const removal = outcomeOf(fleet.remove('no-such-task'));
    const settled = await Promise.race([removal, sleep(5_000).then(() => 'still running after 5 s')]);
    const roomReads = hooks.zrangebylex.calls;
    // Two room pages in each of the lookup's two passes.
    expect({ settled, roomReads }).toEqual({ settled: { rejected: 'TaskNotFoundError' }, roomReads: 4 });
    expect(await outcomeOf(fleet.remove(ids[500]))).toEqual({ resolved: undefined });
  });
});

import { FleetReads } from '../../lib/client/fleet-reads';
import type { TaskPage } from '../../lib';
import { ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';
import { waitingTaskIds } from '../fixtures/flow-state';

/**
 * Queued pages of 1 to 3 read while runs settle between them: each settle admits a waiting task
 * to the stream's end, where it stays unread (queued). A page past the stream reads the room from
 * its cursor alone, so a task listed in the room and admitted since is not listed again; one
 * admitted from past the cursor (another group's turn in the ring) is not listed at all (README,
 * "Paged listings": a page boundary does not freeze the queue). No task is listed twice, and
 * every task that stayed where it was is listed.
 */
describe('attack: queued pages while settles admit from the room', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = { global: 3, group: 0, agingMs: 1000 };

  /** Three runs hold the slots, two plain tasks are unread, four wait in `groups` (by arrival). */
  const setUp = async (groups: string[]) => {
    for (const id of ['a1', 'a2', 'a3']) await f.enqueueFlow(id, limits, 'A');
    const running = await f.deliver('a');
    await f.enqueue({ id: 'p1', name: 'plain' });
    await f.enqueue({ id: 'p2', name: 'plain' });
    for (const [i, group] of groups.entries()) await f.enqueueFlow(`w${i + 1}`, limits, group);
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual(['w1', 'w2', 'w3', 'w4']);
    return running.map(([entryId, fields]) => ({ entryId, id: fields.id }));
  };

  /** Pages through the queued listing; before each page after the first, one run settles (its slot admits a waiting task). */
  const pageWhileSettling = async (limit: number, running: { entryId: string; id: string }[]) => {
    const fleet = new FleetReads(f.redis, () => [f.keys], 60_000);
    const listed: string[] = [];
    let page: TaskPage | undefined;
    for (let n = 0; n < 20; n++) {
      if (n > 0 && running.length > 0) {
        const run = running.shift()!;
        expect(await f.complete('a', [{ ...run, result: '', flow: true }])).toEqual(['completed']);
      }
      page = await fleet.list('queued', { queue: 'q', limit, cursor: page?.cursor ?? undefined });
      listed.push(...page.tasks.map((t) => t.id!));
      if (!page.cursor) return listed;
    }
    throw new Error('the listing did not end');
  };

  it.each([1, 2, 3])('one group, pages of %i: every task once', async (limit) => {
    const running = await setUp(['G', 'G', 'G', 'G']);
    const listed = await pageWhileSettling(limit, running);
    expect(listed).toEqual(['p1', 'p2', 'w1', 'w2', 'w3', 'w4']);
  });

  it.each([1, 2, 3])('two groups, pages of %i: none twice, every task left in place listed', async (limit) => {
    const running = await setUp(['G1', 'G2', 'G1', 'G2']);
    const listed = await pageWhileSettling(limit, running);
    expect(new Set(listed).size).toBe(listed.length);
    const stayed = await waitingTaskIds(f.redis, f.keys);
    for (const id of ['p1', 'p2', ...stayed]) expect(listed).toContain(id);
  });
});

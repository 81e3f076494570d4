import { FleetReads } from '../../lib/client/fleet-reads';
import type { TaskPage } from '../../lib';
import { ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';
import { waitingTaskIds } from '../fixtures/flow-state';

/**
 * Queued pages of 1 to 3 read while runs settle between them: each settle admits a waiting task
 * to the stream's end, where it stays unread (queued). A page past the stream read the room from
 * its cursor alone, so a task admitted from past the cursor (another group's turn in the ring)
 * had moved to the part of the stream the pages had passed: no page listed it (pages of 2, two
 * groups: w2 of G2, admitted while the cursor was in G1's part of the room). A room cursor now
 * carries the stream position the listing reached, and room pages read the stream past it too:
 * every task is listed; one listed in the room and admitted since may be listed again, as the
 * stream task it has become (README, "Paged listings"), and never a third time.
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

  /**
   * Pages through the queued listing; before each page after the first, one run settles (its
   * slot admits a waiting task). Each task listed as [id, listed waiting for a slot].
   */
  const pageWhileSettling = async (limit: number, running: { entryId: string; id: string }[]) => {
    const fleet = new FleetReads(f.redis, () => [f.keys], 60_000);
    const listed: [string, boolean][] = [];
    let page: TaskPage | undefined;
    for (let n = 0; n < 20; n++) {
      if (n > 0 && running.length > 0) {
        const run = running.shift()!;
        expect(await f.complete('a', [{ ...run, result: '', flow: true }])).toEqual(['completed']);
      }
      page = await fleet.list('queued', { queue: 'q', limit, cursor: page?.cursor ?? undefined });
      listed.push(...page.tasks.map((t): [string, boolean] => [t.id!, t.waitingForSlot ?? false]));
      if (!page.cursor) return listed;
    }
    throw new Error('the listing did not end');
  };

  /** Every task listed; a task listed twice was first waiting in the room, then in the stream. */
  const expectEveryTaskListed = (listed: [string, boolean][]) => {
    expect([...new Set(listed.map(([id]) => id))].sort()).toEqual(['p1', 'p2', 'w1', 'w2', 'w3', 'w4']);
    for (const id of ['p1', 'p2', 'w1', 'w2', 'w3', 'w4']) {
      const times = listed.filter(([listedId]) => listedId === id).map(([, waiting]) => waiting);
      expect([[false], [true], [true, false]]).toContainEqual(times);
    }
  };

  it.each([1, 2, 3])('one group, pages of %i: every task listed, in the stream once', async (limit) => {
    const running = await setUp(['G', 'G', 'G', 'G']);
    expectEveryTaskListed(await pageWhileSettling(limit, running));
  });

  it.each([1, 2, 3])('two groups, pages of %i: every task listed, in the stream once', async (limit) => {
    const running = await setUp(['G1', 'G2', 'G1', 'G2']);
    expectEveryTaskListed(await pageWhileSettling(limit, running));
  });

  it('two groups, pages of 2: w2, admitted from G2 while the cursor is in G1, is listed', async () => {
    const running = await setUp(['G1', 'G2', 'G1', 'G2']);
    const listed = await pageWhileSettling(2, running);
    expect(listed.map(([id]) => id)).toContain('w2');
  });

  it('pages on with nothing changing end, each task listed once', async () => {
    await setUp(['G1', 'G2', 'G1', 'G2']);
    expect(await pageWhileSettling(1, [])).toEqual([
      ['p1', false],
      ['p2', false],
      ['w1', true],
      ['w3', true],
      ['w2', true],
      ['w4', true],
    ]);
  });
});

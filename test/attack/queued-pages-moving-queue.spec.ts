import { FleetReads } from '../../lib/client/fleet-reads';
import type { TaskPage } from '../../lib';
import { ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';

/**
 * Queued pages read while the queue moves between them, as a busy fleet moves it: runs settle
 * (each admits the best task of the next pair in the ring, from anywhere in the room), workers
 * read unread entries, new tasks arrive. A task that stays queued (unread in the stream, or
 * waiting in the room) for the whole paging is listed, whatever the moves; a task listed twice
 * was waiting in the room the first time and in the stream the second; the listing ends once
 * the queue stops moving. Each seed is one fixed sequence of moves.
 */
describe('attack: queued pages over a queue that keeps moving', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = { global: 3, group: 0, agingMs: 1000 };
  const groups = ['G1', 'G2', 'G3'];

  /** A small deterministic generator (mulberry32): the same seed, the same moves. */
  const random = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])('seed %i: every task queued throughout is listed', async (seed) => {
    const next = random(seed);
    const limit = 1 + Math.floor(next() * 4);
    const running: { entryId: string; id: string; flow: boolean }[] = [];
    const deliver = async () => {
      for (const [entryId, fields] of await f.deliver('a', 1))
        running.push({ entryId, id: fields.id, flow: fields.fl === '1' });
      return running.length > 0 ? running[running.length - 1].id : undefined;
    };
    for (let i = 0; i < 3; i++) await f.enqueueFlow(`a${i}`, limits, 'A');
    await deliver();
    await deliver();
    await deliver();
    const before: string[] = [];
    for (let i = 0; i < 3; i++) before.push((await f.enqueue({ id: `p${i}`, name: 'plain' }))[0]);
    for (let i = 0; i < 12; i++) before.push((await f.enqueueFlow(`w${i}`, limits, groups[i % 3])).id);

    const fleet = new FleetReads(f.redis, () => [f.keys], 60_000);
    const read = new Set<string>();
    const listed = new Map<string, boolean[]>();
    let page: TaskPage | undefined;
    let pages = 0;
    for (;;) {
      if (pages > 0 && pages <= 12) {
        const move = next();
        if (move < 0.5 && running.length > 0) {
          const run = running.splice(Math.floor(next() * running.length), 1)[0];
          expect(await f.complete('a', [{ ...run, result: '', flow: run.flow }])).toEqual(['completed']);
        } else if (move < 0.75) {
          const id = await deliver();
          if (id) read.add(id);
        } else await f.enqueueFlow(`n${pages}`, limits, groups[Math.floor(next() * 3)]);
      }
      page = await fleet.list('queued', { queue: 'q', limit, cursor: page?.cursor ?? undefined });
      for (const t of page.tasks) listed.set(t.id!, [...(listed.get(t.id!) ?? []), t.waitingForSlot ?? false]);
      if (!page.cursor) break;
      if (++pages > 200) throw new Error('the listing did not end');
    }
    for (const id of before.filter((id) => !read.has(id))) expect([id, listed.has(id)]).toEqual([id, true]);
    // Listed [waiting for a slot?] each time: once, or first in the room and then in the stream.
    for (const [id, times] of listed)
      expect([id, ['false', 'true', 'true,false'].includes(times.join())]).toEqual([id, true]);
  });
});

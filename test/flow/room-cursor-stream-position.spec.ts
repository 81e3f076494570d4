import { FleetReads } from '../../lib/client/fleet-reads';
import { InvalidOptionError } from '../../lib';
import { ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';

/**
 * A queued page that ends in the waiting room returns `w:<member, base64url>:<entry id>`: the
 * room past that member, and the stream past that entry (where tasks admitted from the room since
 * are). The entry id is checked as any cursor's; a cursor without it (issued before it was added)
 * still pages on, from the stream's unread tasks.
 */
describe('a room cursor carries the stream position the listing reached', () => {
  let f: ScriptFixture;
  let fleet: FleetReads;
  beforeEach(async () => {
    f = await new ScriptFixture().setUp();
    fleet = new FleetReads(f.redis, () => [f.keys], 60_000);
  });
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = { global: 1, group: 0, agingMs: 1000 };
  const ids = (page: { tasks: { id?: string }[] }) => page.tasks.map((t) => t.id);

  /** 'a' runs (the one slot), 'p' is unread in the stream, w1 to w3 wait in the room. */
  const setUp = async () => {
    await f.enqueueFlow('a', limits);
    const [[entryId]] = await f.deliver('a');
    await f.enqueue({ id: 'p', name: 'plain' });
    const [[pEntry]] = await f.redis.xrevrange(f.keys.stream, '+', '-', 'COUNT', 1);
    for (const id of ['w1', 'w2', 'w3']) await f.enqueueFlow(id, limits);
    return { run: { entryId, id: 'a' }, pEntry };
  };

  it('names the last stream entry read', async () => {
    const { pEntry } = await setUp();
    const page = await fleet.list('queued', { queue: 'q', limit: 2 });
    expect(ids(page)).toEqual(['p', 'w1']);
    expect(page.cursor).toMatch(new RegExp(`^w:[A-Za-z0-9_-]+:${pEntry}$`));
  });

  it('a task admitted since and read by a worker is not listed: it runs', async () => {
    const { run } = await setUp();
    const first = await fleet.list('queued', { queue: 'q', limit: 2 });
    expect(await f.complete('a', [{ ...run, result: '', flow: true }])).toEqual(['completed']); // admits w1
    expect((await f.deliver('b')).map(([, fields]) => fields.id)).toEqual(['p', 'w1']);
    const second = await fleet.list('queued', { queue: 'q', limit: 5, cursor: first.cursor! });
    expect(ids(second)).toEqual(['w2', 'w3']);
    expect(second.cursor).toBeNull();
  });

  it('an entry id Redis would refuse is an InvalidOptionError naming the cursor', async () => {
    await setUp();
    const first = await fleet.list('queued', { queue: 'q', limit: 2 });
    const room = first.cursor!.slice(0, first.cursor!.lastIndexOf(':'));
    for (const cursor of [`${room}:18446744073709551616-0`, `${room}:1`, `${room}:1-0:1-0`]) {
      const refused = await fleet.list('queued', { queue: 'q', cursor }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(InvalidOptionError);
      expect((refused as InvalidOptionError).option).toBe('cursor');
    }
  });

  it('a cursor without the entry id pages on from the stream unread', async () => {
    await setUp();
    const first = await fleet.list('queued', { queue: 'q', limit: 2 });
    const old = first.cursor!.slice(0, first.cursor!.lastIndexOf(':'));
    const second = await fleet.list('queued', { queue: 'q', limit: 5, cursor: old });
    expect(ids(second)).toEqual(['p', 'w2', 'w3']);
    expect(second.cursor).toBeNull();
  });
});

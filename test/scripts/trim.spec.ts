import { closeAll } from '../utils/redis';
import { ScriptFixture } from './script-fixture';

/** How complete.lua removes acked entries: trims when it can, deletes when a run pins the head. */
describe('acked entries leave the stream', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const enqueue = async (n: number) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await f.enqueue())[0]);
    return ids;
  };

  it('never removes an undelivered entry', async () => {
    await enqueue(5);
    const delivered = await f.deliver('a', 2);
    await f.complete(
      'a',
      delivered.map(([entryId, m]) => ({ entryId, id: m.id })),
    );
    expect(await f.redis.xlen(f.keys.stream)).toBe(3);
    const rest = await f.deliver('b', 10);
    expect(rest).toHaveLength(3);
    expect(rest.every(([, m]) => m.n === 'job')).toBe(true);
  });

  it('a long run still pending does not pin the entries acked after it', async () => {
    await enqueue(3);
    const [first, ...later] = await f.deliver('a', 3);
    await f.complete(
      'a',
      later.map(([entryId, m]) => ({ entryId, id: m.id })),
    );
    expect(await f.redis.xlen(f.keys.stream)).toBe(1);
    const [[entryId, fields]] = (await f.redis.xrange(f.keys.stream, '-', '+')) as [string, string[]][];
    expect(entryId).toBe(first[0]);
    expect(fields).toContain(first[1].id); // the pending run keeps its payload for a reclaim
  });

  it('deletes the acked entries of a batch that lie above a run still pending', async () => {
    await enqueue(3);
    const [e1, e2, e3] = await f.deliver('a', 3);
    const run = ([entryId, m]: typeof e1) => ({ entryId, id: m.id });
    await f.complete('a', [run(e1), run(e3)]); // e2 still pending, between them
    const left = (await f.redis.xrange(f.keys.stream, '-', '+')).map(([id]) => id);
    expect(left).toContain(e2[0]); // a pending run keeps its entry
    expect(left).not.toContain(e3[0]); // e1 may stay until a trim: whole nodes go at once
    await f.complete('a', [run(e2)]);
    expect(await f.redis.xlen(f.keys.stream)).toBe(0);
  });

  it('empties the stream over many nodes, whatever order runs settle in', async () => {
    await enqueue(250); // more than one stream node (100 entries each by default)
    const delivered = await f.deliver('a', 250);
    const toRuns = (list: typeof delivered) => list.map(([entryId, m]) => ({ entryId, id: m.id }));
    await f.complete('a', toRuns(delivered.slice(0, 120)));
    expect(await f.redis.xlen(f.keys.stream)).toBeLessThanOrEqual(130 + 100);
    await f.complete('a', toRuns(delivered.slice(200)));
    await f.complete('a', toRuns(delivered.slice(120, 200)));
    expect(await f.redis.xlen(f.keys.stream)).toBe(0);
  });
});

import { GROUP, ScriptFixture } from '../scripts/script-fixture';
import { closeAll, monitorNodeOf } from '../utils/redis';

/**
 * complete.lua trims acked entries below the oldest pending one, which it read with XPENDING's
 * summary form (`XPENDING <stream> <group>`). That form also lists every consumer holding
 * entries, so Redis walks every consumer of the group whenever anything is pending, and anyone
 * who can write to Redis can create consumers (XGROUP CREATECONSUMER, one command each): with
 * 200,000 of them every settle batch of a busy queue cost about 3.5 ms of Redis time (35 ms at
 * 2 million), on the hot path. It now reads the oldest pending entry alone (`XPENDING <stream>
 * <group> - + 1`), whatever the number of consumers. A review finding; the spec failed.
 */
describe('attack: settling on a queue whose group has thousands of consumers', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it('complete.lua sends no XPENDING summary (it walks every consumer), and still trims', async () => {
    const pipeline = f.redis.pipeline();
    for (let i = 0; i < 2000; i++) pipeline.xgroup('CREATECONSUMER', f.keys.stream, GROUP, `junk-${i}`);
    expect((await pipeline.exec())?.every(([error]) => !error)).toBe(true);
    for (let i = 0; i < 3; i++) await f.enqueue();
    const [first, second, third] = await f.deliver('a', 3);
    const monitor = await monitorNodeOf(f.keys.stream);
    const xpending: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0].toLowerCase() === 'xpending' && args[1] === f.keys.stream) xpending.push(args);
    });
    // `second` stays pending: the trim stops below it, and the acked entry above it is deleted.
    await f.complete('a', [
      { entryId: first[0], id: first[1].id },
      { entryId: third[0], id: third[1].id },
    ]);
    await f.redis.ping();
    await new Promise((resolve) => setTimeout(resolve, 100));
    monitor.disconnect();
    expect(xpending.length).toBeGreaterThan(0);
    expect(xpending.filter((args) => args.length <= 3)).toEqual([]);
    expect((await f.redis.xrange(f.keys.stream, '-', '+')).map(([id]) => id)).not.toContain(third[0]);
    expect((await f.redis.xrange(f.keys.stream, '-', '+')).map(([id]) => id)).toContain(second[0]);
    // Nothing pending any more: the stream is trimmed past the batch.
    await f.complete('a', [{ entryId: second[0], id: second[1].id }]);
    expect(await f.redis.xlen(f.keys.stream)).toBe(0);
  });
});

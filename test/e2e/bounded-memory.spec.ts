import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

// Short enough to watch expire, long enough that a busy machine still sees the TTL first.
const RESULT_TTL_MS = 1_500;

// Guarantee 5: nothing a finished task leaves behind lives forever.
describe('bounded memory', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let t: TestApp;

  beforeEach(async () => {
    t = await startApp({ prefix, options: { resultTtlMs: RESULT_TTL_MS, deadLetterMaxLen: 10 } });
  });
  afterEach(async () => {
    await closeApps();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  it('deletes acked messages from the stream, and results expire after resultTtlMs', async () => {
    const handles = await t.client.enqueueMany(Array.from({ length: 20 }, (_, i) => ({ name: 'echo', payload: i })));
    await Promise.all(handles.map((h) => h.result()));

    await waitFor(async () => (await redis.xlen(t.keys.stream)) === 0, { description: 'stream emptied by acks' });
    expect(((await redis.xpending(t.keys.stream, 'workers')) as unknown[])[0]).toBe(0);
    const ttl = await redis.pttl(t.keys.result(handles[0].id));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(RESULT_TTL_MS);
    await waitFor(async () => (await redis.exists(...handles.map((h) => t.keys.result(h.id)))) === 0, {
      description: 'every result expired',
    });
  });

  it('lets the run state of a finished keyed task expire too', async () => {
    const handle = await t.client.enqueue('echo', 'keyed', { key: 'invoice-1' });
    await handle.result();

    const ttl = await waitFor(
      async () => {
        const ms = await redis.pttl(t.keys.keyState('invoice-1'));
        return ms > 0 ? ms : undefined;
      },
      { description: 'key state with a TTL' },
    );
    expect(ttl).toBeLessThanOrEqual(RESULT_TTL_MS);
    await waitFor(async () => (await redis.exists(t.keys.keyState('invoice-1'))) === 0, {
      description: 'key state expired',
    });
  });

  it('caps the dead-letter stream near deadLetterMaxLen', async () => {
    const junk = redis.pipeline();
    for (let i = 0; i < 250; i++) junk.xadd(t.keys.stream, '*', 'n', 'echo', 'p', String(i)); // no id: dead-lettered
    await junk.exec();

    await waitFor(() => t.events.counters()['dead-lettered'] === 250, {
      timeoutMs: 10_000,
      description: '250 dead letters',
    });
    // Trimming is approximate (whole radix-tree nodes, at most 100 entries each by default).
    await expect(redis.xlen(t.keys.deadLetter)).resolves.toBeLessThanOrEqual(10 + 100);
  });
});

import type Redis from 'ioredis';
import { performance } from 'node:perf_hooks';
import { Probe } from '../fixtures/probe';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

/** The module's default: an idle close that waited out the blocking read would take about this. */
const BLOCK_MS = 1_000;
/** Well under BLOCK_MS, with room for a loaded 2-core CI machine. */
const FAST_CLOSE_MS = 300;
const TASKS = 300;

/** Resolves once the worker's shared read blocks in Redis (the state a close has to cut short). */
const readBlocked = (redis: Redis) =>
  waitFor(async () => /blocked_clients:[1-9]/.test(await redis.info('clients')), {
    description: 'the worker blocked in XREADGROUP',
  });

async function timedClose(app: TestApp): Promise<number> {
  const t0 = performance.now();
  await app.close();
  return performance.now() - t0;
}

// app.close() cuts the blocking read short (CLIENT UNBLOCK) instead of waiting out blockMs.
describe('fast close', () => {
  const prefix = randomPrefix();
  const redis = createRedis();

  afterEach(async () => {
    await closeApps();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  it(`closes an idle worker well under blockMs (${BLOCK_MS} ms)`, async () => {
    const t = await startApp({ prefix, options: { blockMs: BLOCK_MS } });
    // It has been consuming: one task ran, and the read blocks again.
    await t.client.enqueue('echo', 'warm-up').then((h) => h.result({ timeoutMs: 5_000 }));
    await readBlocked(redis);

    const ms = await timedClose(t);

    console.log(`idle close with blockMs ${BLOCK_MS}: ${ms.toFixed(1)} ms`);
    expect(ms).toBeLessThan(FAST_CLOSE_MS);
  });

  it('loses no task enqueued while the close cuts the read short; the next worker runs the rest', async () => {
    const producer = await startApp({ prefix, options: { worker: false } });
    const first = await startApp({ prefix, options: { blockMs: BLOCK_MS } });
    await readBlocked(redis);

    // A tight enqueue loop, with the close starting after the first tasks are in the stream: some
    // are delivered to the read being cut short, some land after it.
    const ids: string[] = [];
    let closing: Promise<number> | undefined;
    for (let i = 0; i < TASKS; i++) {
      ids.push((await producer.client.enqueue('echo', i)).id);
      if (i === 20) closing = timedClose(first);
    }
    const ms = await closing!;
    console.log(`close while ${TASKS} tasks were enqueued: ${ms.toFixed(1)} ms, ${first.probe.runs.length} ran`);
    expect(ms).toBeLessThan(FAST_CLOSE_MS);

    // The closed worker drained everything it read: nothing pending, every task either has its
    // result or is still in the stream for the next worker.
    expect(((await redis.xpending(first.keys.stream, 'workers')) as unknown[])[0]).toBe(0);
    const queued = new Set(
      ((await redis.xrange(first.keys.stream, '-', '+')) as [string, string[]][]).map(([, fields]) => {
        const at = fields.indexOf('id');
        return fields[at + 1];
      }),
    );
    const completed = new Set(first.probe.runs.map((r) => r.ctx.id));
    for (const id of ids) {
      const done = (await redis.exists(first.keys.result(id))) === 1;
      expect({ id, done, queued: queued.has(id) }).toEqual({ id, done: completed.has(id), queued: !done });
    }

    const second = await startApp({ prefix, probe: new Probe(), options: { blockMs: BLOCK_MS } });
    await waitFor(
      async () => (await Promise.all(ids.map((id) => redis.exists(first.keys.result(id))))).every(Boolean),
      {
        timeoutMs: 10_000,
        description: 'every task completed',
      },
    );
    // Each task ran exactly once across both workers.
    const runs = [...first.probe.runs, ...second.probe.runs].map((r) => r.ctx.id).sort();
    expect(runs).toEqual([...ids].sort());
  });
});

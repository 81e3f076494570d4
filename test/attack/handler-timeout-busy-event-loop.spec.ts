import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { TaskFailedError } from '../../lib';
import { Probe } from '../fixtures/probe';
import { closeApps, startApp } from '../fixtures/test-app';
import { blockEventLoop } from '../utils/block-event-loop';
import { Latch } from '../utils/latch';
import { closeAll, createRedis, randomPrefix } from '../utils/redis';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';

/** The fixture task 'slow' times out after this long (test/fixtures/probe.tasks.ts). */
const SLOW_TIMEOUT_MS = 150;

/*
 * A review finding: a handler's timeoutMs failed a run whose awaited reply had come in time. The
 * handler of 'slow' awaits a Redis reply; meanwhile the handler of another task blocks the event
 * loop past 'slow''s deadline (CPU-bound work, a big JSON.parse). Redis answered at once, but once
 * the loop freed, Node ran the run's expired timeout timer before it read the socket where the
 * reply waited: the run was aborted and failed, "exceeded its timeout of 150 ms", and its work
 * was retried (or, on its last attempt, lost) though it had finished within its time.
 */
describe("a handler's timeoutMs: a busy event loop does not time out a run whose reply came in time", () => {
  let server: RedisServerHandle;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    redis = createRedis({}, server.url);
    await redis.ping();
  });
  afterEach(() => closeApps());
  afterAll(async () => {
    await closeAll();
    await server?.stop();
  });

  it("another task's handler blocks the loop past the deadline while the reply waits in the socket", async () => {
    const probe = new Probe();
    const started = new Latch();
    let deadline = Infinity;
    const value = `value-${randomUUID()}`;
    await redis.set(`${value}:key`, value);
    // 'echo' is the busy neighbour: once 'slow' has sent its read, it blocks the loop past
    // 'slow''s deadline and until Redis has answered every client.
    probe.on('echo', async () => {
      await started.wait();
      blockEventLoop(deadline + 200 - performance.now(), { answeredBy: server.port });
    });
    probe.on('slow', async () => {
      deadline = performance.now() + SLOW_TIMEOUT_MS;
      const reply = redis.get(`${value}:key`); // written at once (no auto-pipelining)
      started.open();
      return reply;
    });
    const t = await startApp({
      prefix: randomPrefix(),
      probe,
      options: { connection: { url: server.url }, concurrency: 2 },
    });
    const busy = await t.client.enqueue('echo', 'busy');
    const slow = await t.client.enqueue('slow', 'reads');

    await expect(slow.result({ timeoutMs: 10_000 }).catch((error: unknown) => error)).resolves.toBe(value);
    await busy.result({ timeoutMs: 10_000 });
    expect(probe.runsOf('slow')).toHaveLength(1);
  });

  // The control: a handler still waiting at its deadline is timed out, blocked or not.
  it('a handler whose awaited answer had not come by the deadline is still timed out', async () => {
    const probe = new Probe();
    probe.on('slow', async (_payload, ctx) => {
      const aborted = new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      blockEventLoop(SLOW_TIMEOUT_MS + 200, { answeredBy: server.port });
      await aborted;
      return 'too late';
    });
    const t = await startApp({ prefix: randomPrefix(), probe, options: { connection: { url: server.url } } });
    const slow = await t.client.enqueue('slow', 'waits');
    const error = await slow.result({ timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error).toMatchObject({ causeName: 'TaskTimeoutError' });
  });
});

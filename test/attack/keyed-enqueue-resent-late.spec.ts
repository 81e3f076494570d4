import type { TaskHandle } from '../../lib';
import { replyCuttingProxy, type ReplyCuttingProxy } from '../fixtures/reply-cutting-proxy';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { useSpecRedis } from '../utils/spec-redis';
import { redisUrl, waitFor } from '../utils/redis';

/**
 * The connection of a producer drops after Redis ran its keyed enqueue and before the reply came
 * back; ioredis resends the script call once it reconnects. The README said a keyed enqueue is
 * deduplicated by its key, so the resend is harmless. But dedupe looks for a LIVE run: when a
 * worker ran the task to completion before the resend arrived (a reconnect takes 50 ms and up),
 * the resend found the key settled and added the same task again, under a new generation: one
 * enqueue() ran its task twice. A `replace()` resent the same way superseded its own run.
 */
describe('attack: a keyed enqueue resent after its run settled', () => {
  const { prefix, redis } = useSpecRedis();
  let proxy: ReplyCuttingProxy;
  let producer: TestApp;
  let worker: TestApp;

  beforeEach(async () => {
    proxy = await replyCuttingProxy(redisUrl());
    producer = await startApp({ prefix, options: { worker: false, connection: { url: proxy.url } } });
    worker = await startApp({ prefix });
  });
  afterEach(async () => {
    await closeApps();
    await proxy.close();
  });

  /** Sends `enqueue` with its reply cut; the worker runs the task to its end before the resend. */
  async function sentTwiceAroundItsRun(key: string, enqueue: () => Promise<TaskHandle>) {
    const cut = proxy.cutReplyTo(key);
    const releaseResend = proxy.holdNewConnections();
    const handle = enqueue();
    await cut;
    await waitFor(async () => (await redis.hget(worker.keys.keyState(key), 'state')) === 'completed', {
      description: 'the first send ran and completed',
    });
    const firstGeneration = Number(await redis.hget(worker.keys.keyState(key), 'gen'));
    releaseResend();
    return { handle: await handle, firstGeneration };
  }

  for (const mode of ['enqueue', 'replace'] as const) {
    it(`${mode}(): the resend returns the run it made, and the task runs once`, async () => {
      const key = `resent-${mode}`;
      const { handle, firstGeneration } = await sentTwiceAroundItsRun(key, () =>
        producer.client[mode]('echo', 'once', { key }),
      );

      expect(handle.generation).toBe(firstGeneration);
      await expect(handle.result({ timeoutMs: 2_000 })).resolves.toBe('once');
      expect(await redis.hget(worker.keys.keyState(key), 'state')).toBe('completed');
      expect(await redis.xlen(worker.keys.stream)).toBe(0);
      expect(worker.probe.runsOf('echo').map((r) => r.ctx.id)).toEqual([handle.id]);
    });
  }
});

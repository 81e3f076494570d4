import type { StreamQueueEvent } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { useProbeApps } from '../fixtures/probe-apps';
import { replyCuttingProxy, resentCall, type ReplyCuttingProxy } from '../fixtures/reply-cutting-proxy';
import { logger, startApp } from '../fixtures/test-app';
import { Latch } from '../utils/latch';
import { redisUrl, waitFor } from '../utils/redis';

/**
 * Review finding: a keyed run's failure settled in Redis (fail.lua scheduled its retry, or
 * dead-lettered it), and its reply was lost with the connection. ioredis resent it, and it
 * answered "no longer pending"; the worker proved the earlier call its own but reported nothing
 * for a keyed run (its earlier call might have found it superseded): no `failed` event, no
 * `retry-scheduled` or `dead-lettered` (counters, metrics), no dead-letter warning. When the key
 * state still holds the run's generation and task id, no earlier call found it superseded.
 */
describe('attack: a keyed failure whose settle reply was lost after Redis ran it', () => {
  const env = useProbeApps();
  let proxy: ReplyCuttingProxy;

  beforeEach(async () => {
    proxy = await replyCuttingProxy(redisUrl());
  });
  afterEach(() => proxy.close());

  /**
   * A worker behind the proxy whose `task` run of 'block' throws once `gate` opens (on its first
   * attempt), the fail script warmed, and the failure events it emits, in `seen`.
   */
  async function failingWorker(task: string, gate: Latch) {
    env.probe.on(task, async (payload, ctx) => {
      if (payload === 'block' && ctx.attempt === 1) {
        await gate.wait();
        throw new Error('boom');
      }
      if (payload === 'warm') throw new Error('warm');
      return payload;
    });
    const w = await startApp({ prefix: env.prefix, probe: env.probe, options: { connection: { url: proxy.url } } });
    // Redis knows the fail script before a reply is cut (a cut NOSCRIPT would mean it never ran).
    await (await w.client.enqueue('once', 'warm', { key: 'warm' })).result({ timeoutMs: 5_000 }).catch(() => 0);
    const seen: StreamQueueEvent[] = [];
    for (const type of ['failed', 'retry-scheduled', 'dead-lettered', 'completion-refused'] as const)
      w.events.on(type, (e) => void seen.push(e));
    return { w, seen };
  }

  it.each([
    ['once', ['failed', 'dead-lettered']],
    ['flaky', ['failed', 'retry-scheduled']],
  ])(
    'of %s is reported %j, once',
    async (task, expected) => {
      const gate = new Latch();
      const { w, seen } = await failingWorker(task, gate);

      const handle = await w.client.enqueue(task, 'block', { key: `${task}-key` });
      await waitFor(() => env.probe.runs.some((r) => r.payload === 'block'), { description: "'block' running" });
      // The settle runs in Redis, its reply is lost, ioredis resends it.
      await resentCall(proxy, handle.id, async () => gate.open());
      const keyState = new QueueKeys(env.prefix, 'default').keyState(`${task}-key`);
      await waitFor(async () => (await env.redis.hmget(keyState, 'state', 'attempt')).join() !== 'running,', {
        description: 'the failure settled in Redis',
      });
      await new Promise((r) => setTimeout(r, 500));

      expect(seen.filter((e) => e.taskId === handle.id).map((e) => e.type)).toEqual(expected);
      if (task === 'once') {
        expect(logger.warnings().filter((m) => m.includes(handle.id) && m.includes('dead-lettered'))).toHaveLength(1);
      }
    },
    30_000,
  );

  it('superseded before it failed, it is still not reported failed', async () => {
    const gate = new Latch();
    // 'once' has one attempt (maxAttempts 1): the first-attempt condition changes nothing here.
    const { w, seen } = await failingWorker('once', gate);

    const handle = await w.client.enqueue('once', 'block', { key: 'replaced-key' });
    await waitFor(() => env.probe.runs.some((r) => r.payload === 'block'), { description: "'block' running" });
    // The newer run waits for the key (runs of a key never overlap): it runs once this one settled.
    const newer = await w.client.replace('once', 'newer', { key: 'replaced-key' });
    // Its settle finds it superseded (nothing written), the reply is lost, ioredis resends it.
    await resentCall(proxy, handle.id, async () => gate.open());
    await newer.result({ timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 500));

    expect(seen.filter((e) => e.taskId === handle.id)).toEqual([]);
  }, 30_000);
});

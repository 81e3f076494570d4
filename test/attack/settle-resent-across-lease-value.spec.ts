import type { StreamQueueEvent } from '../../lib';
import { ConsumerHost } from '../../lib/consumer/consumer.host';
import { QueueKeys } from '../../lib/redis/keys';
import { leaseKeeperOf } from '../fixtures/held-heartbeat-restart';
import { useProbeApps } from '../fixtures/probe-apps';
import { replyCuttingProxy, resentCall, type ReplyCuttingProxy } from '../fixtures/reply-cutting-proxy';
import { logger, startApp, type TestApp } from '../fixtures/test-app';
import { Latch } from '../utils/latch';
import { redisUrl, waitFor } from '../utils/redis';

/**
 * Review finding: a settle that Redis ran, whose reply was lost with its connection, is resent by
 * ioredis and answers "no longer pending"; the worker counted it its own only if its liveness key
 * still held the value it held before the run was handed over. But a key that never lapsed
 * changes its value too: the beat after another partition's key lapsed writes every key with the
 * next incarnation (SET XX), and so does a renewal (renewIncarnation). Across either change the
 * worker's own settle was reported refused (completion-refused, a "was refused" warning, the
 * refused counter), and its completion or failure was never counted, while Redis held it settled.
 */
describe('attack: a settle resent after its liveness key changed value without a lapse', () => {
  const env = useProbeApps();
  let proxy: ReplyCuttingProxy;

  beforeEach(async () => {
    proxy = await replyCuttingProxy(redisUrl());
  });
  afterEach(() => proxy.close());

  /** The two ways the real heartbeat gives a key that never lapsed a new value. */
  const changes: Record<string, (w: TestApp, own: QueueKeys, other: QueueKeys, consumer: string) => Promise<void>> = {
    'a renewal of the incarnation': async (w) => leaseKeeperOf(w).renewIncarnation(),
    "another partition's key lapsing": async (_w, _own, other, consumer) => {
      await env.redis.del(other.alive(consumer));
    },
  };

  it.each([
    ['a renewal of the incarnation', 'echo', ['completed']],
    ["another partition's key lapsing", 'echo', ['completed']],
    ['a renewal of the incarnation', 'once', ['failed', 'dead-lettered']],
    ["another partition's key lapsing", 'once', ['failed', 'dead-lettered']],
  ])(
    'across %s, a resent settle of %s is reported as it ran: %j, once',
    async (change, task, expected) => {
      const gate = new Latch();
      env.probe.on(task, async (payload) => {
        if (payload === 'block') await gate.wait();
        if (task === 'once') throw new Error('boom');
        return payload;
      });
      const w = await startApp({
        prefix: env.prefix,
        probe: env.probe,
        options: { connection: { url: proxy.url }, queues: { default: { partitions: 2 } } },
      });
      // Redis knows the settle script before a reply is cut (a cut NOSCRIPT would mean it never ran).
      const warm = await w.client.enqueue(task, 'warm');
      await warm.result({ timeoutMs: 5_000 }).catch(() => undefined);
      const seen: StreamQueueEvent[] = [];
      for (const type of ['completed', 'failed', 'dead-lettered', 'completion-refused'] as const)
        w.events.on(type, (e) => void seen.push(e));

      const handle = await w.client.enqueue(task, 'block');
      await waitFor(() => env.probe.runs.some((r) => r.payload === 'block'), { description: "'block' running" });
      const partitions = [0, 1].map((p) => new QueueKeys(env.prefix, 'default', p));
      const pending = await Promise.all(partitions.map((k) => env.redis.xlen(k.stream)));
      const [own, other] = pending[0] === 1 ? partitions : [partitions[1], partitions[0]];
      const consumer = w.app.get(ConsumerHost).consumerName;
      const before = await env.redis.get(own.alive(consumer));

      // The settle runs in Redis, its reply is lost; before the resend the key gets a new value.
      await resentCall(
        proxy,
        handle.id,
        async () => gate.open(),
        async () => {
          await changes[change](w, own, other, consumer);
          await waitFor(
            async () => {
              const now = await env.redis.get(own.alive(consumer));
              return now !== null && now !== before;
            },
            { description: "the run's liveness key written with a new value" },
          );
        },
      );
      await waitFor(() => seen.some((e) => e.taskId === handle.id), { description: 'the settle reported' });
      await new Promise((r) => setTimeout(r, 300));

      expect(seen.filter((e) => e.taskId === handle.id).map((e) => e.type)).toEqual(expected);
      expect(w.events.counters()['completion-refused']).toBe(0);
      expect(logger.warnings().filter((m) => m.includes(handle.id) && m.includes('was refused'))).toEqual([]);
      // Settled once, by the first send: nothing of the run is left pending.
      expect(await env.redis.xlen(own.stream)).toBe(0);
    },
    30_000,
  );
});

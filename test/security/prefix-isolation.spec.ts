import type Redis from 'ioredis';
import { QueueClient } from '../../lib';
import { buildApp, closeHostileApps, type HostileApp } from '../fixtures/hostile-tasks';
import { Probe } from '../fixtures/probe';
import { testOptions } from '../fixtures/test-app';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { closeAll, createRedis, waitFor } from '../utils/redis';

/*
 * Two applications share one Redis with the same task names and queue names, told apart only by
 * their prefixes: neither ever runs, reads, cancels or is woken by the other's tasks, and every
 * key and channel each one uses starts with its own `{prefix:` hash tag. The Redis is private,
 * so every key on it belongs to one of the two.
 */

describe('key prefixes isolate applications sharing one Redis', () => {
  // One prefix starts with the other: the tag's ':' keeps them apart.
  const prefixes = ['billing', 'billing-eu'] as const;
  let server: RedisServerHandle;
  let admin: Redis;
  let monitor: Redis;
  const commands: string[][] = [];

  beforeAll(async () => {
    server = await startRedisServer();
    admin = createRedis({}, server.url);
    // No ready check and no CLIENT SETINFO: their replies could interleave with MONITOR output
    // on the duplicate (an INFO reply did, once on Node 24).
    monitor = createRedis({ enableReadyCheck: false, disableClientInfo: true }, server.url);
  });
  afterEach(closeHostileApps);
  afterAll(async () => {
    await closeAll();
    await server.stop();
  });

  interface Side {
    readonly prefix: string;
    readonly app: HostileApp;
    readonly client: QueueClient;
    readonly probe: Probe;
  }

  async function start(prefix: string): Promise<Side> {
    const probe = new Probe();
    const app = await buildApp(testOptions(prefix, { connection: { url: server.url }, resultTtlMs: 60_000 }), {
      probe,
    });
    await app.moduleRef.init();
    return { prefix, app, client: app.moduleRef.get(QueueClient), probe };
  }

  it('same task names, queues and keys: each app runs only its own tasks, and every key is under its own tag', async () => {
    // MONITOR sees every command with its arguments: the keys the scripts touch included.
    const mon = await monitor.monitor();
    mon.on('monitor', (_time: string, args: string[]) => commands.push(args));
    const [a, b] = await Promise.all(prefixes.map(start));
    let failedOnceA = false;
    a.probe.on('flaky', (p) => {
      if (!failedOnceA) {
        failedOnceA = true;
        throw new Error('retry me');
      }
      return p;
    });

    // The same calls on both sides, with payloads that say whose they are.
    const enqueueAll = async (side: Side) => [
      await side.client.enqueue('echo', `${side.prefix}:plain`),
      await side.client.enqueue('echo', `${side.prefix}:keyed`, { key: 'shared-key' }),
      await side.client.enqueue('echo', `${side.prefix}:delayed`, { delayMs: 150 }),
      await side.client.enqueue('flaky', `${side.prefix}:retried`, { key: 'shared-retry' }),
      ...(await side.client.enqueueMany([{ name: 'echo', payload: `${side.prefix}:many` }])),
    ];
    const [handlesA, handlesB] = await Promise.all([enqueueAll(a), enqueueAll(b)]);
    for (const [side, handles] of [
      [a, handlesA],
      [b, handlesB],
    ] as const) {
      const results = await Promise.all(handles.map((h) => h.result({ timeoutMs: 4_000 })));
      expect(results).toEqual(['plain', 'keyed', 'delayed', 'retried', 'many'].map((s) => `${side.prefix}:${s}`));
    }

    // Each probe saw only its own payloads, and every task exactly once per attempt.
    for (const side of [a, b]) {
      const payloads = side.probe.runs.map((r) => String(r.payload));
      expect(payloads.every((p) => p.startsWith(`${side.prefix}:`))).toBe(true);
      expect(new Set(side.probe.runs.map((r) => r.ctx.id))).toEqual(
        new Set((side === a ? handlesA : handlesB).map((h) => h.id)),
      );
    }

    // Cancelling and reading a key on one side leaves the other side's key alone.
    await a.client.enqueue('echo', 'a-later', { key: 'shared-later', delayMs: 10_000 });
    await b.client.enqueue('echo', 'b-later', { key: 'shared-later', delayMs: 10_000 });
    await expect(a.client.cancel('shared-later')).resolves.toBe(true);
    await expect(a.client.status('shared-later')).resolves.toMatchObject({ state: 'cancelled' });
    await expect(b.client.status('shared-later')).resolves.toMatchObject({ state: 'delayed' });

    // A result stored by one side is not visible through the other's handle of the same id.
    const onlyA = handlesA[0];
    await expect(b.client.handle(onlyA.id).status()).resolves.toMatchObject({ state: 'pending' });

    // Every key on this Redis, and every channel subscribed, is under one of the two tags.
    const allKeys = await scanAll(admin);
    expect(allKeys.length).toBeGreaterThan(0);
    const tagOf = (name: string) => prefixes.find((p) => name.startsWith(`{${p}:`));
    expect(allKeys.filter((k) => !tagOf(k))).toEqual([]);
    expect(allKeys.some((k) => tagOf(k) === 'billing') && allKeys.some((k) => tagOf(k) === 'billing-eu')).toBe(true);
    const channels = (await admin.call('PUBSUB', 'CHANNELS')) as string[];
    expect(channels.length).toBeGreaterThan(0);
    expect(channels.filter((c) => !tagOf(c))).toEqual([]);

    // Every key argument of every command the apps sent (short-lived ones such as the sweep
    // lock included) was under a tag too: MONITOR saw the commands, Redis says which are keys.
    await waitFor(() => commands.length > 0, { description: 'MONITOR output' });
    mon.disconnect();
    const untagged = (await keysOf(admin, commands)).filter((k) => !tagOf(k));
    expect(untagged).toEqual([]);
  });
});

/** The key arguments of each distinct command, as COMMAND GETKEYS finds them (scripts included). */
async function keysOf(redis: Redis, commands: string[][]): Promise<string[]> {
  const distinct = [...new Map(commands.map((c) => [JSON.stringify(c), c])).values()];
  const pipeline = redis.pipeline();
  for (const args of distinct) pipeline.call('COMMAND', 'GETKEYS', ...args);
  const replies = (await pipeline.exec()) ?? [];
  const keys = new Set<string>();
  // Commands without key arguments (SUBSCRIBE, INFO, TIME …) answer an error: nothing to check.
  for (const [error, reply] of replies) if (!error) for (const k of reply as string[]) keys.add(k);
  expect(keys.size).toBeGreaterThan(0);
  return [...keys];
}

async function scanAll(redis: Redis): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

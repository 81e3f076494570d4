import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { StreamQueueEvent } from '../../lib';
import { sleep } from '../utils/helpers';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { testTopology } from '../utils/test-topology';
import {
  cleanupPrefix,
  closeAll,
  createRedis,
  randomPrefix,
  serverNodes,
  subscriberCount,
  testConnection,
  waitFor,
} from '../utils/redis';

const TASKS = 60;

/** Ids of the server's clients named `name`: every connection of one app (ioredis names each). */
async function clientIds(redis: Redis, name: string): Promise<string[]> {
  const list = (await redis.client('LIST')) as string;
  return list
    .split('\n')
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /\bid=(\d+)/.exec(line)![1]);
}

/** Kills every connection of the app (on every node of a cluster), as a failover or a network blip would. */
async function killConnections(redis: Redis, name: string): Promise<number> {
  let killed = 0;
  for (const node of serverNodes(redis)) {
    const ids = await clientIds(node, name);
    const kill = node.pipeline();
    for (const id of ids) kill.client('KILL', 'ID', id);
    await kill.exec();
    killed += ids.length;
  }
  return killed;
}

// Connections dropped under a running app: ioredis reconnects; no task may be lost or run twice.
describe('connections killed while tasks flow', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const connectionName = `sq-test-${randomUUID().slice(0, 8)}`;
  const connection = testConnection({ connectionName });

  afterEach(closeApps);
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it('completes every task exactly once across repeated CLIENT KILLs', async () => {
    const t = await startApp({ prefix, options: { connection, concurrency: 4, leaseMs: 5_000 } });
    const refusals: StreamQueueEvent[] = [];
    t.events.on('completion-refused', (e) => refusals.push(e));
    t.probe.on('echo', async (payload) => {
      await sleep(15);
      return payload;
    });
    // Enqueued before the kills: an enqueue whose reply is lost may be resent by ioredis, which
    // is the producer's concern; this test is about the consumer.
    const handles = await t.client.enqueueMany(Array.from({ length: TASKS }, (_, i) => ({ name: 'echo', payload: i })));

    const killed: number[] = [];
    for (const after of [5, 20, 40]) {
      await waitFor(() => t.probe.runs.length >= after, { timeoutMs: 10_000, description: `${after} runs` });
      killed.push(await killConnections(redis, connectionName));
    }
    await waitFor(async () => (await redis.exists(...handles.map((h) => t.keys.result(h.id)))) === TASKS, {
      timeoutMs: 15_000,
      description: 'every result stored',
    });

    // One node: commands, blocking reads, control subscription and heartbeat were all cut each
    // time. A cluster client remakes a node's connection only when it next sends there, so a
    // round may find some not yet back: each round cut some.
    expect(killed.every((n) => n >= (testTopology() === 'cluster' ? 1 : 4))).toBe(true);
    const counts = t.probe.countsById();
    expect(counts.size).toBe(TASKS);
    expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    await expect(Promise.all(handles.map((h) => h.result()))).resolves.toEqual(handles.map((_, i) => i));
    await waitFor(async () => (await redis.xlen(t.keys.stream)) === 0, { description: 'stream emptied' });
    expect(((await redis.xpending(t.keys.stream, 'workers')) as unknown[])[0]).toBe(0);
    await expect(redis.xlen(t.keys.deadLetter)).resolves.toBe(0);
    // No takeover happened: the liveness lease survived every cut. A settle whose reply was cut
    // is resent by ioredis and answered "no longer pending": reported, but never "owned by another".
    expect(t.events.counters()).toMatchObject({ reclaimed: 0, 'lease-lost': 0 });
    expect(refusals.filter((e) => e.detail !== 'not-pending')).toEqual([]);
    // And it keeps working afterwards.
    await expect((await t.client.enqueue('echo', 'after')).result()).resolves.toBe('after');
  });

  it('result() still resolves when the task completed while the waiting connection was reconnecting', async () => {
    const producer: TestApp = await startApp({ prefix, options: { connection, worker: false } });
    const handle = await producer.client.enqueue('echo', 'x');
    const waiting = handle.result({ timeoutMs: 3_000 });
    await waitFor(
      async () => {
        const subscribers = await subscriberCount(redis, producer.keys.doneChannel);
        return subscribers >= 1;
      },
      { description: 'result() subscribed' },
    );
    await sleep(50); // its first look at the result key (none yet) is done

    // What a worker's completion does (result stored, completion published), in the same
    // transaction that cuts the waiting app's connections: the message cannot reach it.
    const ids = await clientIds(redis, connectionName);
    const tx = redis.multi();
    for (const id of ids) tx.client('KILL', 'ID', id);
    tx.set(producer.keys.result(handle.id), JSON.stringify({ ok: true, value: 'done meanwhile' }), 'PX', 60_000);
    tx.publish(producer.keys.doneChannel, handle.id);
    await tx.exec();

    await expect(waiting).resolves.toBe('done meanwhile');
  });
});

import { Injectable, Module } from '@nestjs/common';
import { Task, type TaskContext } from '../../lib';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { admitWithoutTokens } from '../fixtures/tokenless-admissions';
import { useProbeApps } from '../fixtures/probe-apps';
import { logger, startApp } from '../fixtures/test-app';
import { partitioned } from '../partitions/partition-apps';
import { QueuePartitions } from '../../lib/partitions/queue-partitions';
import { Latch, sleep } from '../utils/helpers';
import { createRedis, randomPrefix, waitFor } from '../utils/redis';
import { useAclRedis } from '../fixtures/acl-redis';

/** XPENDING's extended rows: [entry id, owner, idle ms, deliveries]. */
type PendingRow = [string, string, number, number];

const PER_MS = 10_000;
const starts = new Map<string, number>();

@Injectable()
class SlowRatedTasks {
  @Task('attack.slow-rated', { rateLimit: { max: 1, perMs: PER_MS } })
  run(_payload: unknown, ctx: TaskContext) {
    starts.set(ctx.id, ctx.startedAt ?? -1);
  }
}

@Module({ providers: [SlowRatedTasks] })
class SlowRatedModule {}

/*
 * Review finding: every read or take-over of an entry counts a delivery in the group's pending
 * list, and the poison check (maxDeliveries) counted those of runs that never started: a healthy
 * task was dead-lettered as "delivered N times without settling (poison message?)" without its
 * handler ever being called. Each case failed before the fix.
 */
describe('attack: maxDeliveries counts runs that started, not runs held unstarted', () => {
  const env = useProbeApps();
  beforeEach(() => starts.clear());

  const pendingRows = async (stream: string) =>
    (await env.redis.xpending(stream, CONSUMER_GROUP, '-', '+', 10)) as PendingRow[];

  it('a worker shut down while paused, holding a read entry unstarted: the next worker runs it (maxDeliveries 1)', async () => {
    const firstMayEnd = new Latch();
    let blocking = false;
    env.probe.on('once', async (payload) => {
      if (!blocking) {
        blocking = true;
        await firstMayEnd.wait();
      }
      return payload;
    });
    const options = partitioned(2, { heartbeatIntervalMs: 200, maxDeliveries: 1 });
    const producer = await startApp({ prefix: env.prefix, probe: env.probe, options: { ...options, worker: false } });
    // Two partitions, one slot: one read brings an entry of each; one runs, the other waits.
    const handles = await producer.client.enqueueMany([
      { name: 'once', payload: 'a' },
      { name: 'once', payload: 'b' },
    ]);
    const a = await startApp({ prefix: env.prefix, probe: env.probe, options: { ...options, concurrency: 1 } });
    await waitFor(() => env.probe.runs.length === 1, { description: 'one run started' });
    await a.client.pause('default');
    await sleep(200);
    firstMayEnd.open();
    const started = env.probe.runs[0].payload;
    await handles[['a', 'b'].indexOf(started as string)].result({ timeoutMs: 5_000 });
    await a.close(); // a rolling deploy: the held entry is left, unstarted
    expect(env.probe.runs).toHaveLength(1);

    const b = await startApp({ prefix: env.prefix, probe: env.probe, options });
    await b.client.resume('default');
    await expect(Promise.all(handles.map((h) => h.result({ timeoutMs: 5_000 })))).resolves.toEqual(['a', 'b']);
    const dead = new QueuePartitions(env.prefix, 'default', 2).all.map((k) => k.deadLetter);
    expect(await Promise.all(dead.map((k) => env.redis.xlen(k)))).toEqual([0, 0]);
  }, 30_000);

  it('a run held for a rate token across graceful restarts is never dead-lettered (maxDeliveries 2)', async () => {
    const keys = await admitWithoutTokens(env, [SlowRatedModule], 'attack.slow-rated', 2);
    const [, held] = (await env.redis.xrange(keys.stream, '-', '+')).map(([id]) => id);
    const options = { maxDeliveries: 2, concurrency: 2 };
    // h0 starts and fills the window for PER_MS; h1 waits for its token on whichever worker holds it.
    let worker = await startApp({ prefix: env.prefix, imports: [SlowRatedModule], options });
    await waitFor(() => starts.has('h0'), { description: 'h0 started' });
    const owners: string[] = [];
    // The worker holding h1 (a new one each time), or undefined once h1 left the pending list.
    const nextHolder = () =>
      waitFor(
        async () => {
          const row = (await pendingRows(keys.stream)).find(([id]) => id === held);
          if (!row) return { owner: undefined };
          return owners.includes(row[1]) ? undefined : { owner: row[1] };
        },
        { description: 'h1 held by the next worker' },
      );
    for (let restart = 0; restart < 3; restart++) {
      const { owner } = await nextHolder();
      expect(await env.redis.xlen(keys.deadLetter)).toBe(0);
      owners.push(owner!);
      await worker.close(); // a rolling deploy: the next worker takes h1 over at once
      worker = await startApp({ prefix: env.prefix, imports: [SlowRatedModule], options });
    }
    await nextHolder();
    expect(await env.redis.xlen(keys.deadLetter)).toBe(0);
    expect(starts.has('h1')).toBe(false);
    // Each worker let it go unstarted: only the delivery it waits under now counts.
    const [row] = (await pendingRows(keys.stream)).filter(([id]) => id === held);
    expect(row[3]).toBe(1);
    await waitFor(() => starts.has('h1'), { timeoutMs: PER_MS + 5_000, description: 'h1 ran once its token was free' });
    expect(await env.redis.xlen(keys.deadLetter)).toBe(0);
  }, 60_000);

  it('the control: a run that started and hangs until each graceful restart aborts it is dead-lettered at maxDeliveries 2', async () => {
    // It stops only when its signal aborts (the shutdown deadline): left pending as started.
    env.probe.on('echo', (_payload, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', reject)));
    const options = { maxDeliveries: 2, shutdownTimeoutMs: 200 };
    const producer = await startApp({ prefix: env.prefix, probe: env.probe, options: { worker: false } });
    const handle = await producer.client.enqueue('echo', 'hangs');
    for (let restart = 1; restart <= 2; restart++) {
      const worker = await startApp({ prefix: env.prefix, probe: env.probe, options });
      await waitFor(() => env.probe.runs.length === restart, { description: `start ${restart}` });
      await worker.close();
    }
    await startApp({ prefix: env.prefix, probe: env.probe, options });
    await expect(handle.result({ timeoutMs: 5_000 })).rejects.toThrow('delivered 2 times without settling');
    expect(env.probe.runs).toHaveLength(2);
  }, 30_000);
});

describe('attack: runs a worker took but could not start, for a refused command, are not counted', () => {
  const redis = useAclRedis('acl-secret');

  it('each recovery of a keyed run whose claim was refused is free; it runs once the claim succeeds', async () => {
    const prefix = randomPrefix();
    const admin = createRedis({}, redis.url());
    // Everything but INCR, which the keyed claim calls for its fencing number.
    const workerUrl = await redis.userDenied('worker', 'incr');
    const producer = await startApp({ prefix, options: { connection: { url: redis.url() }, worker: false } });
    const handle = await producer.client.enqueue('echo', 'keyed', { key: 'k1' });
    const failedAdmits = () =>
      logger.warnings().filter((w) => w.startsWith('Admitting 1 run(s)') && w.includes("can't")).length;
    const before = failedAdmits();
    const worker = await startApp({
      prefix,
      options: {
        connection: { url: workerUrl },
        maxDeliveries: 2,
        blockMs: 100,
      },
    });
    // Read once, then recovered by the sweep after each failed claim (idle 1 s): 4 recoveries.
    await waitFor(async () => failedAdmits() - before >= 5 || (await admin.xlen(producer.keys.deadLetter)) > 0, {
      timeoutMs: 20_000,
      description: 'five failed claims',
    });
    expect(await admin.xlen(producer.keys.deadLetter)).toBe(0);
    await redis.allow('worker', 'incr');
    await expect(handle.result({ timeoutMs: 10_000 })).resolves.toBe('keyed');
    expect(worker.probe.runs).toHaveLength(1);
  }, 45_000);

  it('entries a sweep took before a later step of it failed run (maxDeliveries 2)', async () => {
    const prefix = randomPrefix();
    const admin = createRedis({}, redis.url());
    // Everything but XGROUP DELCONSUMER, which the sweep calls for dead consumers holding nothing.
    const sweeperUrl = await redis.userDenied('sweeper', 'xgroup|delconsumer');
    const producer = await startApp({ prefix, options: { connection: { url: redis.url() }, worker: false } });
    await admin.xgroup('CREATE', producer.keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM');
    const handle = await producer.client.enqueue('echo', 'orphan');
    // A worker that read it and died (it never had a liveness key), idle past the lease.
    await admin.xreadgroup('GROUP', CONSUMER_GROUP, 'dead', 'COUNT', 1, 'STREAMS', producer.keys.stream, '>');
    await sleep(1_100);
    const worker = await startApp({
      prefix,
      options: {
        connection: { url: sweeperUrl },
        maxDeliveries: 2,
        leaseMs: 1_000,
      },
    });
    await expect(handle.result({ timeoutMs: 10_000 })).resolves.toBe('orphan');
    expect(worker.probe.runs).toHaveLength(1);
  }, 45_000);
});

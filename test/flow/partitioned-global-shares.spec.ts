import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { QueueClient, StreamQueueModule, Task, type TaskContext } from '../../lib';
import { partitionOfGroup, QueuePartitions } from '../../lib/partitions/queue-partitions';
import { partitionOfTaskId } from '../../lib/partitions/task-ids';
import { startApp, type TestApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { heldTaskIds, waitingTaskIds } from '../fixtures/flow-state';
import { mostAtOnce } from '../fixtures/runs-at-once';
import { Latch, sleep, waitFor } from '../utils/helpers';
import { testConnection } from '../utils/redis';

/** Each run: its task, id, partition, payload, start and end on this clock, and its counted start (rated). */
interface Run {
  readonly task: string;
  readonly id: string;
  readonly partition: number;
  readonly payload: { group?: string; p?: number };
  readonly start: number;
  readonly end: number;
  readonly startedAt?: number;
}
const runs: Run[] = [];
/** Order in which runs began (by payload), for the priority spec. */
const began: Array<{ task: string; payload: { p?: number } }> = [];
let runMs = 60;
let gate = new Latch();

async function record(task: string, payload: Run['payload'], ctx: TaskContext, work = () => sleep(runMs)) {
  const start = performance.timeOrigin + performance.now();
  began.push({ task, payload: payload ?? {} });
  await work();
  runs.push({
    task,
    id: ctx.id,
    partition: partitionOfTaskId(ctx.id),
    payload: payload ?? {},
    start,
    end: performance.timeOrigin + performance.now(),
    startedAt: ctx.startedAt,
  });
}

@Injectable()
class SharedLimitTasks {
  @Task('gs.global', { queue: 'gs', globalConcurrency: 3 })
  global(payload: Run['payload'], ctx: TaskContext) {
    return record('gs.global', payload, ctx);
  }

  @Task('gs.rate', { queue: 'gs', rateLimit: { max: 4, perMs: 1000 } })
  rate(payload: Run['payload'], ctx: TaskContext) {
    return record('gs.rate', payload, ctx, () => sleep(5));
  }

  @Task('gs.prio', { queue: 'gs', groupConcurrency: 1 })
  prio(payload: Run['payload'], ctx: TaskContext) {
    return record('gs.prio', payload, ctx, () => (payload?.p === undefined ? gate.wait() : sleep(5)));
  }

  @Task('gs3.global', { queue: 'gs3', globalConcurrency: 5, rateLimit: { max: 7, perMs: 60_000 } })
  global3(payload: Run['payload'], ctx: TaskContext) {
    return record('gs3.global', payload, ctx);
  }
}

@Module({ providers: [SharedLimitTasks] })
class SharedLimitModule {}

const QUEUES = { queues: { gs: { partitions: 2 }, gs3: { partitions: 3 } } };
const GROUPS = ['a', 'b', 'c', 'd', 'e', 'f'];

function runsOf(task: string): Run[] {
  return runs.filter((r) => r.task === task);
}

/**
 * globalConcurrency and rateLimit on a partitioned queue: each partition enforces a fixed share
 * (floor(N/P), one more for the first N mod P partitions), so the fleet never runs more than N at
 * once nor starts more than max per window. An ungrouped task without a group limit goes round
 * robin over the partitions, so it can use every share.
 */
describe('global limits on a partitioned queue: a fixed share per partition', () => {
  const env = useProbeApps();
  beforeEach(() => {
    runs.length = 0;
    began.length = 0;
    runMs = 60;
    gate = new Latch();
  });
  const app = (options = {}): Promise<TestApp> =>
    startApp({
      prefix: env.prefix,
      imports: [SharedLimitModule],
      options: { concurrency: 20, ...QUEUES, ...options },
    });
  const partitions = (queue = 'gs', count = 2) => new QueuePartitions(env.prefix, queue, count);
  const flowEmpty = async () => {
    for (const keys of partitions().all) {
      if ((await heldTaskIds(env.redis, keys)).length > 0) return false;
      if ((await waitingTaskIds(env.redis, keys)).length > 0) return false;
    }
    return true;
  };
  const recordedGlobal = async (queue: string, count: number, task: string) =>
    Promise.all(
      partitions(queue, count).all.map(async (keys) => {
        const text = await env.redis.hget(keys.flow.limits, task);
        const [global, , , max] = (text ?? '').split(' ');
        return text === null ? null : { global: Number(global), max: Number(max) };
      }),
    );

  it('globalConcurrency 3 over 2 partitions, many groups, two workers: never more than 3 at once, each task once', async () => {
    const a = await app();
    await app();
    const items = Array.from({ length: 30 }, (_, i) => {
      const group = GROUPS[i % GROUPS.length];
      return { name: 'gs.global', payload: { group }, options: { queue: 'gs', group } };
    });
    const handles = await a.client.enqueueMany(items);
    handles.forEach((h, i) => expect(partitionOfTaskId(h.id)).toBe(partitionOfGroup(items[i].options.group, 2)));
    await Promise.all(handles.map((h) => h.result({ timeoutMs: 20_000 })));
    const done = runsOf('gs.global');
    expect(done).toHaveLength(30);
    expect(new Set(done.map((r) => r.id)).size).toBe(30);
    expect(new Set(done.map((r) => r.partition))).toEqual(new Set([0, 1]));
    expect(mostAtOnce(done)).toBe(3); // both shares used (2 + 1), never more
    await waitFor(flowEmpty);
  });

  it('an ungrouped task without a group limit spreads over both partitions and reaches the full 3', async () => {
    const a = await app();
    await app();
    const handles = await Promise.all(
      Array.from({ length: 24 }, (_, i) => a.client.enqueue('gs.global', { i }, { queue: 'gs' })),
    );
    const where = handles.map((h) => partitionOfTaskId(h.id));
    expect(where.filter((p) => p === 0)).toHaveLength(12); // round robin
    await Promise.all(handles.map((h) => h.result({ timeoutMs: 20_000 })));
    const done = runsOf('gs.global');
    expect(done).toHaveLength(24);
    expect(new Set(done.map((r) => r.partition))).toEqual(new Set([0, 1]));
    expect(mostAtOnce(done)).toBe(3);
    await waitFor(flowEmpty);
  });

  it('rateLimit { max: 4, perMs: 1000 } over 2 partitions: never more than 4 starts in any 1000 ms', async () => {
    const a = await app();
    await app();
    const handles = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        i % 3 === 0
          ? a.client.enqueue('gs.rate', { i }, { queue: 'gs', group: GROUPS[i % GROUPS.length] })
          : a.client.enqueue('gs.rate', { i }, { queue: 'gs' }),
      ),
    );
    await Promise.all(handles.map((h) => h.result({ timeoutMs: 20_000 })));
    const done = runsOf('gs.rate');
    expect(done).toHaveLength(12);
    // Counted starts, on Redis's one clock (whole ms): the 5th start after any start is a window later.
    const starts = done.map((r) => r.startedAt!).sort((x, y) => x - y);
    for (let i = 4; i < starts.length; i++) expect(starts[i] - starts[i - 4]).toBeGreaterThanOrEqual(1000);
    // Both partitions' shares (2 + 2) are used in the first window: 4 start at once.
    expect(starts[3] - starts[0]).toBeLessThan(1000);
    await waitFor(flowEmpty);
  });

  it('a producer without the definition: every plain entry of a global-only task runs, under the limit', async () => {
    runMs = 80;
    await app();
    @Module({
      imports: [
        StreamQueueModule.forRoot({ connection: testConnection(), prefix: env.prefix, worker: false, ...QUEUES }),
      ],
    })
    class BlindProducerModule {}
    const producer = await NestFactory.createApplicationContext(BlindProducerModule, { logger: false });
    try {
      const client = producer.get(QueueClient);
      const handles = await Promise.all(
        Array.from({ length: 12 }, (_, i) => client.enqueue('gs.global', { i }, { queue: 'gs' })),
      );
      expect(new Set(handles.map((h) => partitionOfTaskId(h.id)))).toEqual(new Set([0, 1]));
      await Promise.all(handles.map((h) => h.result({ timeoutMs: 20_000 })));
      expect(runsOf('gs.global')).toHaveLength(12);
      expect((await client.list('dead', { queue: 'gs' })).tasks).toHaveLength(0);
      expect(mostAtOnce(runsOf('gs.global'))).toBeLessThanOrEqual(3);
      expect(mostAtOnce(runsOf('gs.global'))).toBe(3);
    } finally {
      await producer.close();
    }
    await waitFor(flowEmpty);
  });

  it('priority orders the waiting tasks of a group in partition 1', async () => {
    const a = await app();
    const group = GROUPS.find((g) => partitionOfGroup(g, 2) === 1)!;
    const holder = await a.client.enqueue('gs.prio', { group }, { queue: 'gs', group });
    expect(partitionOfTaskId(holder.id)).toBe(1);
    await waitFor(() => began.length === 1);
    const later: Array<Promise<unknown>> = [];
    for (const p of [10, 10, 10, 1]) {
      const h = await a.client.enqueue('gs.prio', { group, p }, { queue: 'gs', group, priority: p });
      expect(partitionOfTaskId(h.id)).toBe(1);
      later.push(h.result({ timeoutMs: 10_000 }));
    }
    gate.open();
    await holder.result({ timeoutMs: 10_000 });
    await Promise.all(later);
    expect(began.slice(1).map((b) => b.payload.p)).toEqual([1, 10, 10, 10]);
  });

  it("a worker's start records each partition's share: 5 over 3 partitions is 2, 2, 1; max 7 is 3, 2, 2", async () => {
    await app();
    expect(await recordedGlobal('gs3', 3, 'gs3.global')).toEqual([
      { global: 2, max: 3 },
      { global: 2, max: 2 },
      { global: 1, max: 2 },
    ]);
    expect(await recordedGlobal('gs', 2, 'gs.global')).toEqual([
      { global: 2, max: 0 },
      { global: 1, max: 0 },
    ]);
    expect(await recordedGlobal('gs', 2, 'gs.rate')).toEqual([
      { global: 0, max: 2 },
      { global: 0, max: 2 },
    ]);
  });

  it("an enqueue from a producer with the definition records its partition's share", async () => {
    const producer = await app({ worker: false });
    const handles = await Promise.all(
      [0, 1, 2].map((i) => producer.client.enqueue('gs3.global', { i }, { queue: 'gs3' })),
    );
    expect(new Set(handles.map((h) => partitionOfTaskId(h.id)))).toEqual(new Set([0, 1, 2]));
    expect(await recordedGlobal('gs3', 3, 'gs3.global')).toEqual([
      { global: 2, max: 3 },
      { global: 2, max: 2 },
      { global: 1, max: 2 },
    ]);
  });
});

import { Injectable, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { QueueClient, StreamQueueModule, Task } from '../../lib';
import { partitionOfGroup } from '../../lib/partitions/queue-partitions';
import { partitionOfTaskId } from '../../lib/partitions/task-ids';
import { logger, startApp, type TestApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { waitingTaskIds } from '../fixtures/flow-state';
import { mostAtOnce } from '../fixtures/runs-at-once';
import { QueueKeys } from '../../lib/redis/keys';
import { createRedis, Latch, sleep, waitFor } from '../utils/helpers';
import { testConnection } from '../utils/redis';

/** Start and end of each run: the most that overlapped is read from them afterwards. */
const runs: Array<{ task: string; start: number; end: number }> = [];
let running = 0;
let gate = new Latch();

function mostAtOnceOf(task: string): number {
  return mostAtOnce(runs.filter((r) => r.task === task));
}

async function record(task: string, work: () => Promise<void>) {
  const start = performance.timeOrigin + performance.now();
  running++;
  try {
    await work();
  } finally {
    running--;
  }
  runs.push({ task, start, end: performance.timeOrigin + performance.now() });
}

@Injectable()
class LimitedTasks {
  @Task('lb.one', { queue: 'lb', groupConcurrency: 1 })
  one() {
    return record('lb.one', () => sleep(40));
  }

  @Task('lb.parts', { queue: 'lbp', groupConcurrency: 1 })
  parts() {
    return record('lb.parts', () => sleep(40));
  }
}

@Module({ providers: [LimitedTasks] })
class LimitedModule {}

/** The same task, first with groupConcurrency 1, then raised to 3 by a new deploy. */
@Injectable()
class LowTasks {
  @Task('lb.raise', { queue: 'lb', groupConcurrency: 1 })
  raise() {
    return record('lb.raise', () => gate.wait());
  }
}

@Injectable()
class HighTasks {
  @Task('lb.raise', { queue: 'lb', groupConcurrency: 3 })
  raise() {
    return record('lb.raise', () => gate.wait());
  }
}

@Module({ providers: [LowTasks] })
class LowModule {}

@Module({ providers: [HighTasks] })
class HighModule {}

const QUEUES = { queues: { lbp: { partitions: 2 } } };

/**
 * Another process's restore of queue lbp's lost layout record (lost-layouts.ts), under way when
 * this worker's consumers start, after its own bootstrap adopted the count: the restore's
 * freeze ('1>2', layout.lua) then its commit a moment later.
 */
let restoring: { prefix: string; committed?: Promise<void> } | undefined;

@Injectable()
class RestoreUnderWay implements OnApplicationBootstrap {
  async onApplicationBootstrap(): Promise<void> {
    const restore = restoring;
    if (!restore) return;
    const redis = createRedis();
    const parts = [0, 1].map((p) => new QueueKeys(restore.prefix, 'lbp', p));
    for (const k of parts) await redis.set(k.layout, '1>2').then(() => redis.set(k.layoutFreezers, '1'));
    restore.committed = sleep(300).then(async () => {
      for (const k of [...parts].reverse()) await redis.set(k.layout, '2').then(() => redis.del(k.layoutFreezers));
      await redis.quit();
    });
  }
}

@Module({ providers: [RestoreUnderWay] })
class RestoreUnderWayModule {}

/**
 * A worker records its tasks' limits in every partition of their queue when it starts: a producer
 * without the definitions (an API service that enqueues with a group) records none, and a
 * partition no definition-holding enqueue reached admitted every task with no limit, for good.
 */
describe('limits recorded at a worker start', () => {
  const env = useProbeApps();
  beforeEach(() => {
    runs.length = 0;
    running = 0;
    gate = new Latch();
  });
  const worker = (imports: unknown[] = [LimitedModule]): Promise<TestApp> =>
    startApp({ prefix: env.prefix, imports: imports as never, options: { concurrency: 20, ...QUEUES } });

  /** A producer with no @Task of the queue's tasks, and no worker. */
  async function blindProducer() {
    @Module({
      imports: [
        StreamQueueModule.forRoot({ connection: testConnection(), prefix: env.prefix, worker: false, ...QUEUES }),
      ],
    })
    class BlindProducerModule {}
    const app = await NestFactory.createApplicationContext(BlindProducerModule, { logger: false });
    return { client: app.get(QueueClient), close: () => app.close() };
  }

  it("a blind producer enqueueing with a group: the worker's groupConcurrency 1 holds", async () => {
    await worker();
    const producer = await blindProducer();
    try {
      const handles = await Promise.all(
        Array.from({ length: 6 }, (_, i) => producer.client.enqueue('lb.one', { i }, { queue: 'lb', group: 'G' })),
      );
      await Promise.all(handles.map((h) => h.result({ timeoutMs: 20_000 })));
      expect(runs.filter((r) => r.task === 'lb.one')).toHaveLength(6);
      expect(mostAtOnceOf('lb.one')).toBe(1);
    } finally {
      await producer.close();
    }
  });

  it('the same on a queue of 2 partitions, the group routed to partition 1', async () => {
    const group = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].find((g) => partitionOfGroup(g, 2) === 1)!;
    await worker();
    const producer = await blindProducer();
    try {
      const handles = await Promise.all(
        Array.from({ length: 6 }, (_, i) => producer.client.enqueue('lb.parts', { i }, { queue: 'lbp', group })),
      );
      handles.forEach((h) => expect(partitionOfTaskId(h.id)).toBe(1));
      await Promise.all(handles.map((h) => h.result({ timeoutMs: 20_000 })));
      expect(runs.filter((r) => r.task === 'lb.parts')).toHaveLength(6);
      expect(mostAtOnceOf('lb.parts')).toBe(1);
    } finally {
      await producer.close();
    }
  });

  // Redis restarted without persistence, flushed, or the key deleted: recorded only at a start,
  // a blind producer's tasks were admitted unlimited until the next worker start.
  it.each([
    ['lb', 'lb.one', 0],
    ['lbp', 'lb.parts', 1],
  ] as const)(
    'limits Redis lost (queue %s) are recorded again at the next sweep, and hold',
    async (queue, task, partition) => {
      await startApp({
        prefix: env.prefix,
        imports: [LimitedModule],
        options: { concurrency: 20, sweepIntervalMs: 100, ...QUEUES },
      });
      const group = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].find(
        (g) => partitionOfGroup(g, queue === 'lbp' ? 2 : 1) === partition,
      )!;
      const keys = new QueueKeys(env.prefix, queue, partition);
      expect(await env.redis.hget(keys.flow.limits, task)).not.toBeNull();
      await env.redis.del(keys.flow.limits);
      await waitFor(async () => (await env.redis.hget(keys.flow.limits, task)) !== null, { timeoutMs: 5_000 });
      const producer = await blindProducer();
      try {
        const handles = await Promise.all(
          Array.from({ length: 6 }, (_, i) => producer.client.enqueue(task, { i }, { queue, group })),
        );
        await Promise.all(handles.map((h) => h.result({ timeoutMs: 20_000 })));
        expect(mostAtOnceOf(task)).toBe(1);
      } finally {
        await producer.close();
      }
    },
  );

  // Consumers start after every other bootstrap hook: a freeze meanwhile (another process's
  // restore of a lost record, or a count change that may yet thaw) refused the limits with
  // 'LAYOUT 1>2 2', and the worker failed its start over a record frozen for a moment.
  it("a layout record frozen when the worker's consumers start: it boots, and records the limits once it commits", async () => {
    restoring = { prefix: env.prefix };
    try {
      await startApp({
        prefix: env.prefix,
        imports: [LimitedModule, RestoreUnderWayModule],
        options: { concurrency: 20, sweepIntervalMs: 100, ...QUEUES },
      });
      await restoring.committed;
      for (const p of [0, 1]) {
        const keys = new QueueKeys(env.prefix, 'lbp', p);
        await waitFor(async () => (await env.redis.hget(keys.flow.limits, 'lb.parts')) !== null, { timeoutMs: 5_000 });
      }
    } finally {
      await restoring.committed;
      restoring = undefined;
    }
  });

  it('a worker started with a raised limit admits the tasks waiting under the old one', async () => {
    // The old deploy's producer (it has the definition, limit 1) queues 4: one admitted, 3 wait.
    const old = await startApp({ prefix: env.prefix, imports: [LowModule], options: { worker: false } });
    const handles = await Promise.all(
      Array.from({ length: 4 }, (_, i) => old.client.enqueue('lb.raise', { i }, { queue: 'lb', group: 'G' })),
    );
    expect(await waitingTaskIds(env.redis, new QueueKeys(env.prefix, 'lb'))).toHaveLength(3);
    // The new deploy's worker, limit 3: its start records it, and feeds what the raise frees.
    await worker([HighModule]);
    await waitFor(() => running === 3, { timeoutMs: 5_000 }).catch(() => undefined);
    await sleep(200); // a fourth would have started by now
    expect(running).toBe(3);
    gate.open();
    await Promise.all(handles.map((h) => h.result({ timeoutMs: 10_000 })));
  });

  // Anyone with Redis access can put a key of another type in place of a flow key or a stream.
  // It refuses every flow call of its partition (nothing runs there unlimited meanwhile); a start
  // failed for it stopped every queue of the worker (as ensureGroup's did: shared-read-wrong-type).
  it.each([
    ['flow:limits', 'lbp', 1, (k: QueueKeys) => k.flowKeys[2]],
    ['stream', 'lb', 0, (k: QueueKeys) => k.stream],
  ] as const)(
    'a %s key of another type (queue %s): the worker boots, warns naming the partition, and records the limits once it is gone',
    async (_, queue, partition, keyOf) => {
      const keys = new QueueKeys(env.prefix, queue, partition);
      await env.redis.del(keyOf(keys));
      await env.redis.set(keyOf(keys), 'not a hash');
      const from = logger.warnings().length;
      const app = await startApp({
        prefix: env.prefix,
        imports: [LimitedModule],
        options: { concurrency: 20, sweepIntervalMs: 50, ...QUEUES },
      });
      expect(logger.warnings().slice(from).join('\n')).toMatch(
        new RegExp(`"${queue}": recording the tasks' limits in partition ${partition} failed: .*WRONGTYPE`),
      );
      // Its other queue runs.
      const other = queue === 'lb' ? { task: 'lb.parts', queue: 'lbp' } : { task: 'lb.one', queue: 'lb' };
      const handle = await app.client.enqueue(other.task, {}, { queue: other.queue, group: 'G' });
      await handle.result({ timeoutMs: 10_000 });
      await env.redis.del(keyOf(keys));
      const task = queue === 'lb' ? 'lb.one' : 'lb.parts';
      await waitFor(async () => (await env.redis.hget(keys.flowKeys[2], task)) !== null, { timeoutMs: 5_000 });
    },
  );
});

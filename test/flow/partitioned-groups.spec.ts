import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { InvalidOptionError, QueueClient, StreamQueueModule, Task, TaskFailedError, type TaskContext } from '../../lib';
import { EXIT } from '../../lib/cli/cli-commands';
import { runCliInProcess } from '../utils/cli-in-process';
import { defineScripts } from '../../lib/redis/scripts';
import { createRedis, redisUrl, testConnection } from '../utils/redis';
import { partitionOfGroup, QueuePartitions } from '../../lib/partitions/queue-partitions';
import { partitionOfTaskId } from '../../lib/partitions/task-ids';
import { startApp, type TestApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { heldTaskIds, waitingTaskIds } from '../fixtures/flow-state';
import { mostAtOnce } from '../fixtures/runs-at-once';
import { sleep, waitFor } from '../utils/helpers';

/** Start and end of each run, per group: the most that overlapped is read from them afterwards. */
const runs: Array<{ task: string; group: string; start: number; end: number; attempt: number; id: string }> = [];
let runMs = 15;
let failing = false;

function mostAtOnceOf(task: string, group: string): number {
  return mostAtOnce(runs.filter((r) => r.task === task && r.group === group));
}

async function record(task: string, payload: { group?: string }, ctx: TaskContext, fail = false) {
  const start = performance.timeOrigin + performance.now();
  await sleep(runMs);
  runs.push({
    task,
    group: payload?.group ?? '',
    start,
    end: performance.timeOrigin + performance.now(),
    attempt: ctx.attempt,
    id: ctx.id,
  });
  if (fail && ctx.attempt === 1) throw new Error('first attempt fails');
}

@Injectable()
class PartitionedGroupTasks {
  @Task('pg.one', { queue: 'parts', groupConcurrency: 1 })
  one(payload: { group?: string }, ctx: TaskContext) {
    return record('pg.one', payload, ctx);
  }

  @Task('pg.two', { queue: 'parts', groupConcurrency: 2 })
  two(payload: { group?: string }, ctx: TaskContext) {
    return record('pg.two', payload, ctx);
  }

  @Task('pg.retry', {
    queue: 'parts',
    groupConcurrency: 1,
    maxAttempts: 2,
    backoff: { type: 'fixed', delayMs: 10, jitter: false },
  })
  retry(payload: { group?: string }, ctx: TaskContext) {
    return record('pg.retry', payload, ctx, true);
  }

  @Task('pg.dead', { queue: 'parts', groupConcurrency: 1, maxAttempts: 1 })
  dead(payload: { group?: string }, ctx: TaskContext) {
    return record('pg.dead', payload, ctx).then(() => {
      if (failing) throw new Error('fails while failing is set');
    });
  }

  @Task('pg.rate', { queue: 'parts', groupRateLimit: { max: 2, perMs: 400 } })
  rate(payload: { group?: string }, ctx: TaskContext) {
    return record('pg.rate', payload, ctx);
  }
}

@Module({ providers: [PartitionedGroupTasks] })
class PartitionedGroupModule {}

const PARTS = { queues: { parts: { partitions: 2 } } };
/** Groups that fall in each of the two partitions (partitionOfGroup), so both are exercised. */
const GROUPS = ['a', 'b', 'c', 'd', 'e', 'f'];

/**
 * Issue 11, slice B: groupConcurrency and groupRateLimit on a queue of several partitions. Every
 * task of a group goes to its group's partition, so the group's limit is one count there.
 */
describe('group limits on a partitioned queue', () => {
  const env = useProbeApps();
  beforeEach(() => {
    runs.length = 0;
    runMs = 15;
    failing = false;
  });
  const app = (options = {}): Promise<TestApp> =>
    startApp({
      prefix: env.prefix,
      imports: [PartitionedGroupModule],
      options: { concurrency: 20, ...PARTS, ...options },
    });
  const partitions = () => new QueuePartitions(env.prefix, 'parts', 2);
  const flowEmpty = async () => {
    for (const keys of partitions().all) {
      if ((await heldTaskIds(env.redis, keys)).length > 0) return false;
      if ((await waitingTaskIds(env.redis, keys)).length > 0) return false;
    }
    return true;
  };

  it('routes each group to one partition, the groups here covering both', async () => {
    await env.redis.ping(); // a cluster client connects its nodes first: the cleanup after scans them
    const where = GROUPS.map((g) => partitionOfGroup(g, 2));
    expect(new Set(where)).toEqual(new Set([0, 1])); // the groups below cover both partitions
    expect(partitionOfGroup(undefined, 2)).toBe(partitionOfGroup('', 2));
    expect(partitionOfGroup('x', 1)).toBe(0);
  });

  it('groupConcurrency 1 and 2 across two workers: never above the limit per group, in both partitions', async () => {
    const a = await app();
    await app();
    const items = Array.from({ length: 60 }, (_, i) => {
      const group = GROUPS[i % GROUPS.length];
      return {
        name: Math.floor(i / 6) % 2 ? 'pg.one' : 'pg.two',
        payload: { group },
        options: { queue: 'parts', group },
      };
    });
    const handles = await a.client.enqueueMany(items);
    // Each handle's id names its group's partition, and its result is read there.
    handles.forEach((h, i) => expect(partitionOfTaskId(h.id)).toBe(partitionOfGroup(items[i].options.group, 2)));
    // One more by enqueue(), ungrouped: the ungrouped group's partition.
    const ungrouped = await a.client.enqueue('pg.one', {}, { queue: 'parts' });
    expect(partitionOfTaskId(ungrouped.id)).toBe(partitionOfGroup(undefined, 2));
    await Promise.all([...handles, ungrouped].map((h) => h.result({ timeoutMs: 20_000 })));
    for (const group of GROUPS) {
      expect(mostAtOnceOf('pg.one', group)).toBe(1);
      expect(mostAtOnceOf('pg.two', group)).toBeLessThanOrEqual(2);
    }
    // Groups in both partitions ran at once: the limit is per group, not per queue.
    expect(Math.max(...GROUPS.map((g) => mostAtOnceOf('pg.two', g)))).toBe(2);
    await waitFor(flowEmpty);
  });

  it('a delayed task and a retry go through their group partition and keep its limit', async () => {
    const a = await app();
    await app();
    const group = GROUPS[0];
    const delayed = await a.client.enqueue('pg.retry', { group }, { queue: 'parts', group, delayMs: 50 });
    const now = await Promise.all(
      [1, 2, 3].map(() => a.client.enqueue('pg.retry', { group }, { queue: 'parts', group })),
    );
    for (const h of [delayed, ...now]) expect(partitionOfTaskId(h.id)).toBe(partitionOfGroup(group, 2));
    await Promise.all([delayed, ...now].map((h) => h.result({ timeoutMs: 20_000 })));
    expect(
      runs
        .filter((r) => r.task === 'pg.retry')
        .map((r) => r.attempt)
        .sort(),
    ).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
    expect(mostAtOnceOf('pg.retry', group)).toBe(1);
    await waitFor(flowEmpty);
  });

  it('groupRateLimit: at most max starts per group in any window, in both partitions', async () => {
    const a = await app();
    await app();
    const [g0, g1] = [
      GROUPS.find((g) => partitionOfGroup(g, 2) === 0)!,
      GROUPS.find((g) => partitionOfGroup(g, 2) === 1)!,
    ];
    const handles = await Promise.all(
      Array.from({ length: 12 }, (_, i) => {
        const group = i % 2 ? g1 : g0;
        return a.client.enqueue('pg.rate', { group }, { queue: 'parts', group });
      }),
    );
    await Promise.all(handles.map((h) => h.result({ timeoutMs: 20_000 })));
    for (const group of [g0, g1]) {
      const starts = runs
        .filter((r) => r.group === group)
        .map((r) => r.start)
        .sort((x, y) => x - y);
      expect(starts).toHaveLength(6);
      // Local clocks read the starts a little after Redis counted them: allow 20 ms of slack.
      for (let i = 2; i < starts.length; i++) expect(starts[i] - starts[i - 2]).toBeGreaterThanOrEqual(380);
    }
  });

  it('a dead letter redriven goes back through its group partition, the result read there', async () => {
    const a = await app();
    await app();
    const group = GROUPS.find((g) => partitionOfGroup(g, 2) === 1)!; // not partition 0's
    const keys = partitions().forGroup(group);
    failing = true;
    const h = await a.client.enqueue('pg.dead', { group }, { queue: 'parts', group });
    await expect(h.result({ timeoutMs: 10_000 })).rejects.toBeInstanceOf(TaskFailedError);
    expect(partitionOfTaskId(h.id)).toBe(keys.partition);
    const [dead] = (await a.client.list('dead', { queue: 'parts' })).tasks;
    expect(dead).toMatchObject({ id: h.id, group, partition: keys.partition });
    failing = false;
    runMs = 200;
    // One more of the group holds its only slot: the redriven task must wait for it.
    const holder = await a.client.enqueue('pg.dead', { group }, { queue: 'parts', group });
    await sleep(50); // the holder starts
    await a.client.redrive(dead.deadLetterId!, { queue: 'parts', partition: dead.partition });
    const again = a.client.handle(h.id, { queue: 'parts' });
    await holder.result({ timeoutMs: 10_000 });
    await expect(again.result({ timeoutMs: 10_000 })).resolves.toBeUndefined();
    expect(mostAtOnceOf('pg.dead', group)).toBe(1);
    // Nothing of the group's flow state was written in the other partition (its limits were: the
    // worker's start records them in every partition, record-limits.lua).
    const other = partitions().all[1 - keys.partition];
    expect(await env.redis.exists(other.flow.tasks, other.flow.count, other.flow.room, other.flow.ring)).toBe(0);
    await waitFor(flowEmpty);
  });

  it('the CLI redrive and a pause act on the group partition too', async () => {
    const a = await app();
    const group = GROUPS.find((g) => partitionOfGroup(g, 2) === 1)!;
    failing = true;
    const h = await a.client.enqueue('pg.dead', { group }, { queue: 'parts', group });
    await expect(h.result({ timeoutMs: 10_000 })).rejects.toBeInstanceOf(TaskFailedError);
    failing = false;
    await a.client.pause('parts');
    const [dead] = (await a.client.list('dead', { queue: 'parts' })).tasks;
    const cliRedis = createRedis();
    defineScripts(cliRedis);
    const cli = await runCliInProcess(
      cliRedis,
      [
        'dlq',
        'redrive',
        dead.deadLetterId!,
        '--queue',
        'parts',
        '--partition',
        '1',
        '--yes',
        '--url',
        redisUrl(),
        '--prefix',
        env.prefix,
      ],
      true,
    );
    expect(cli).toMatchObject({ code: EXIT.ok, out: new RegExp(`Redrove ${dead.deadLetterId}`) });
    const next = await a.client.enqueue('pg.dead', { group }, { queue: 'parts', group });
    await sleep(300); // paused: neither starts
    expect(runs.filter((r) => r.task === 'pg.dead')).toHaveLength(1);
    await a.client.resume('parts');
    await expect(a.client.handle(h.id, { queue: 'parts' }).result({ timeoutMs: 10_000 })).resolves.toBeUndefined();
    await next.result({ timeoutMs: 10_000 });
    expect(mostAtOnceOf('pg.dead', group)).toBe(1);
    await waitFor(flowEmpty);
  });

  // A producer without the task's definition enqueues it the plain way, round robin over the
  // partitions; the workers' safety net (enter-admission) admitted each entry in the partition it
  // landed in, so the ungrouped group ran once per partition: above its limit of 1.
  it('a plain entry of a group-limited task outside its group partition is dead-lettered, never run outside the limit', async () => {
    runMs = 150;
    await app();
    @Module({
      imports: [
        StreamQueueModule.forRoot({ connection: testConnection(), prefix: env.prefix, worker: false, ...PARTS }),
      ],
    })
    class BlindProducerModule {}
    const producer = await NestFactory.createApplicationContext(BlindProducerModule, { logger: false });
    try {
      const client = producer.get(QueueClient);
      const handles = await Promise.all(
        Array.from({ length: 6 }, (_, i) => client.enqueue('pg.one', { i }, { queue: 'parts' })),
      );
      const home = partitionOfGroup(undefined, 2);
      const outcomes = await Promise.allSettled(handles.map((h) => h.result({ timeoutMs: 20_000 })));
      expect(mostAtOnceOf('pg.one', '')).toBe(1);
      handles.forEach((h, i) => {
        if (partitionOfTaskId(h.id) === home) expect(outcomes[i].status).toBe('fulfilled');
        else expect((outcomes[i] as PromiseRejectedResult).reason).toBeInstanceOf(TaskFailedError);
      });
      expect(handles.filter((h) => partitionOfTaskId(h.id) !== home)).toHaveLength(3); // round robin
      const dead = (await client.list('dead', { queue: 'parts' })).tasks;
      expect(dead).toHaveLength(3);
      expect(dead[0].reason).toMatch(/group limit but was enqueued without flow control/);
    } finally {
      await producer.close();
    }
  });

  it('still refuses a key on a flow task of a partitioned queue, writing nothing', async () => {
    const a = await app();
    const keyed = a.client.enqueue('pg.one', {}, { queue: 'parts', group: 'a', key: 'k' });
    await expect(keyed).rejects.toMatchObject({ option: 'key' });
    const prioritized = a.client.enqueue('pg.one', {}, { queue: 'parts', priority: 1, key: 'k' });
    await expect(prioritized).rejects.toMatchObject({ option: 'key' });
    for (const keys of partitions().all) {
      expect(await env.redis.xlen(keys.stream)).toBe(0);
      expect(await env.redis.exists(keys.flow.room, keys.flow.tasks)).toBe(0);
    }
  });

  // Each partition enforces a share of a task's own limits (partitionShare): one below the count
  // would leave a partition a share of 0, where its tasks would never run.
  it('refuses globalConcurrency and rateLimit.max below the partition count, naming the option', async () => {
    for (const [option, value] of [
      ['globalConcurrency', 1],
      ['rateLimit.max', { max: 1, perMs: 1000 }],
    ] as const) {
      @Injectable()
      class Limited {
        @Task('pg.refused', { queue: 'parts', groupConcurrency: 1, [option.split('.')[0]]: value })
        run() {}
      }
      @Module({ providers: [Limited] })
      class LimitedModule {}
      const error = await startApp({ prefix: env.prefix, imports: [LimitedModule], options: PARTS }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error).toMatchObject({ option: `@Task('pg.refused').${option}` });
      expect(String((error as Error).message)).toMatch(/at least queues\.parts\.partitions \(2\)/);
    }
  });
});

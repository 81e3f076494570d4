import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PartitionLayoutError, QueueClient, StreamQueueModule, Task } from '../../lib';
import { PartitionLayouts } from '../../lib/partitions/partition-layout';
import { partitionOfGroup, QueuePartitions } from '../../lib/partitions/queue-partitions';
import { partitionOfTaskId } from '../../lib/partitions/task-ids';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp, type TestApp } from '../fixtures/test-app';
import { usePrivateRedisApps } from '../fixtures/private-redis-apps';
import { cleanupPrefix, testConnection, waitFor } from '../utils/redis';
import { sleep } from '../utils/helpers';

@Injectable()
class RestoreTasks {
  @Task('lr.keyed', { queue: 'parts' })
  keyed(): string {
    return 'keyed ran';
  }

  @Task('lr.grouped', { queue: 'parts', groupConcurrency: 1 })
  grouped(): string {
    return 'grouped ran';
  }
}

@Module({ providers: [RestoreTasks] })
class RestoreTasksModule {}

const PARTS = { queues: { parts: { partitions: 2 } } };

/**
 * A Redis restarted without persistence (or flushed) loses the queue's layout records, which then
 * read as 1 partition: every keyed or flow write of a process configured with 2 was refused until
 * the process restarted, with an error telling it to restart with 1, and workers dead-lettered
 * plain entries of limited tasks as written under a stale count.
 */
describe('a partitioned queue whose layout records Redis lost', () => {
  const env = useProbeApps();
  const partitions = () => new QueuePartitions(env.prefix, 'parts', 2);
  const records = () => Promise.all(partitions().all.map((k) => env.redis.get(k.layout)));
  /** What FLUSHDB (or a restart without persistence) leaves of this test's keys: nothing. */
  const loseEverything = () => cleanupPrefix(env.redis, env.prefix);
  const app = (options: object = {}): Promise<TestApp> =>
    startApp({ prefix: env.prefix, imports: [RestoreTasksModule], options: { ...PARTS, ...options } });

  it('records the count again on the next keyed or grouped enqueue, and the tasks run', async () => {
    const { client } = await app();
    expect(await records()).toEqual(['2', '2']);
    await loseEverything();
    expect(await records()).toEqual([null, null]);

    const keyed = await client.enqueue('lr.keyed', {}, { queue: 'parts', key: 'k' });
    const grouped = await client.enqueue('lr.grouped', {}, { queue: 'parts', group: 'g' });
    expect(await records()).toEqual(['2', '2']);
    expect(await keyed.result({ timeoutMs: 10_000 })).toBe('keyed ran');
    expect(await grouped.result({ timeoutMs: 10_000 })).toBe('grouped ran');
  });

  it('concurrent refused calls share one layout step', async () => {
    // No periodic check in the spec's time: only the enqueues restore.
    const { app: moduleRef, client } = await app({ worker: false, sweepIntervalMs: 60_000 });
    const adopt = jest.spyOn(moduleRef.get(PartitionLayouts), 'adopt');
    await loseEverything();
    const calls = [
      ...['a', 'b', 'c', 'd', 'e'].map((key) => client.enqueue('lr.keyed', {}, { queue: 'parts', key })),
      client.enqueue('lr.grouped', {}, { queue: 'parts', group: 'g' }),
      client.cancel('f', { queue: 'parts' }),
    ];
    await Promise.all(calls);
    expect(adopt).toHaveBeenCalledTimes(1);
    expect(await records()).toEqual(['2', '2']);
  });

  it('a partition holding a task keeps the refusal, saying the record is gone', async () => {
    const { client } = await app({ worker: false, sweepIntervalMs: 60_000 });
    await loseEverything();
    // Anyone may XADD into partition 0 (a plain enqueue there is unchecked): the switch's freeze
    // refuses a partition holding a task.
    await env.redis.xadd(partitions().all[0].stream, '*', 'n', 'lr.keyed', 'p', '{}', 'id', 'plain-1');
    const refusal = await client.enqueue('lr.keyed', {}, { queue: 'parts', key: 'k' }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(PartitionLayoutError);
    const error = refusal as PartitionLayoutError;
    expect([error.queue, error.stored, error.configured]).toEqual(['parts', '1', 2]);
    expect(error.message).toMatch(/layout record is gone/);
    expect(error.message).not.toMatch(/Restart it with the stored count/);
    expect(await records()).toEqual([null, null]);
  });

  it('a task in a later partition keeps the refusal, and the record stays gone: recorded once that partition is empty', async () => {
    const { client } = await app({ worker: false, sweepIntervalMs: 60_000 });
    await loseEverything();
    // Partition 0 empty, partition 1 holding a task: the freeze takes 0, is refused at 1, and
    // gives 0 back. Given back as '1', the record no longer read as lost: never recorded again.
    const stream1 = partitions().all[1].stream;
    const entry = await env.redis.xadd(stream1, '*', 'n', 'lr.keyed', 'p', '{}', 'id', 'plain-1~1');
    const refusal = await client.enqueue('lr.keyed', {}, { queue: 'parts', key: 'k' }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(PartitionLayoutError);
    expect((refusal as PartitionLayoutError).message).toMatch(/layout record is gone/);
    expect(await records()).toEqual([null, null]);
    await env.redis.xdel(stream1, entry!);
    const handle = await client.enqueue('lr.keyed', {}, { queue: 'parts', key: 'k' });
    expect(handle.key).toBe('k');
    expect(await records()).toEqual(['2', '2']);
  });

  // Attack round 2: processes restoring at once (every one reacts to the reconnect). One found the
  // record gone and froze partition 0 ('1>2'); another read that frozen record, joined it, was
  // refused at partition 1 and, the last to thaw, wrote '1': read as a change to 1, never
  // restored again. Here the first one's freeze is left without freezers (it crashed, or thawed
  // as it relied on none), so the second one's thaw is the last.
  it("a restore that joins another's freeze of a lost record gives it back absent when it thaws last", async () => {
    const { app: moduleRef, client } = await app({ worker: false, sweepIntervalMs: 60_000 });
    await loseEverything();
    // This process saw the record gone (lost-layouts.ts); then another one's restore froze it.
    await env.redis.set(partitions().all[0].layout, '1>2');
    const stream1 = partitions().all[1].stream;
    const entry = await env.redis.xadd(stream1, '*', 'n', 'lr.keyed', 'p', '{}', 'id', 'plain-1~1');
    const restore = moduleRef.get(PartitionLayouts).adopt('parts', 2, true);
    await expect(restore).rejects.toBeInstanceOf(PartitionLayoutError);
    expect(await records()).toEqual([null, null]);
    await env.redis.xdel(stream1, entry!);
    await client.enqueue('lr.keyed', {}, { queue: 'parts', key: 'k' });
    expect(await records()).toEqual(['2', '2']);
  });

  it("a worker admits a plain entry of a limited task read after the loss, in the ungrouped group's partition", async () => {
    expect(partitionOfGroup(undefined, 2)).toBe(0);
    await app({ sweepIntervalMs: 60_000 });
    await loseEverything();
    // A producer without the task's definition nor the queue's config: a plain entry in partition 0.
    @Module({
      imports: [StreamQueueModule.forRoot({ connection: testConnection(), prefix: env.prefix, worker: false })],
    })
    class BlindProducerModule {}
    const blind = await NestFactory.createApplicationContext(BlindProducerModule, { logger: false });
    try {
      const plain = await blind.get(QueueClient).enqueue('lr.grouped', {}, { queue: 'parts' });
      expect(partitionOfTaskId(plain.id)).toBe(0);
      expect(await plain.result({ timeoutMs: 10_000 })).toBe('grouped ran');
    } finally {
      await blind.close();
    }
  });

  it('a check records it again without any call: every 30 sweep intervals', async () => {
    await app({ worker: false, sweepIntervalMs: 50 }); // a check every 1.5 s
    await loseEverything();
    await waitFor(async () => (await records()).join() === '2,2', {
      timeoutMs: 5_000,
      description: 'the records back',
    });
  });

  it('a count a deploy recorded after the loss was seen is not undone by the restore', async () => {
    const old = await app({ worker: false, sweepIntervalMs: 60_000 });
    const layouts = old.app.get(PartitionLayouts);
    const adopt = layouts.adopt.bind(layouts);
    // The restore read the record gone; before its step reads it again, a process booting with 3
    // partitions (a deploy, the queue being empty) records 3.
    jest.spyOn(layouts, 'adopt').mockImplementationOnce(async (queue, count, onlyLost) => {
      await startApp({
        prefix: env.prefix,
        imports: [RestoreTasksModule],
        options: { worker: false, queues: { parts: { partitions: 3 } } },
      });
      expect(await records()).toEqual(['3', '3']);
      return adopt(queue, count, onlyLost);
    });
    await loseEverything();
    const refusal = await old.client.enqueue('lr.keyed', {}, { queue: 'parts', key: 'k' }).catch((e: unknown) => e);
    // The old process runs on with a stale count, refused, as after any deploy: the deploy stands.
    expect(refusal).toMatchObject({ stored: '3', configured: 2 });
    const third = new QueuePartitions(env.prefix, 'parts', 3).all[2].layout;
    expect([...(await records()), await env.redis.get(third)]).toEqual(['3', '3', '3']);
  });

  it('a count changed to 1 by a deploy is not taken for a lost record: an old process does not undo it', async () => {
    const old = await app({ worker: false, sweepIntervalMs: 50 });
    // The queue is empty: a process booting with 1 partition changes the count.
    await startApp({
      prefix: env.prefix,
      imports: [RestoreTasksModule],
      options: { worker: false, queues: { parts: { partitions: 1 } } },
    });
    expect(await records()).toEqual(['1', '1']);
    const refusal = await old.client.enqueue('lr.keyed', {}, { queue: 'parts', key: 'k' }).catch((e: unknown) => e);
    expect(refusal).toMatchObject({ stored: '1', configured: 2 });
    expect((refusal as Error).message).toMatch(/Restart it with the stored count/);
    await sleep(2_000); // past the old process's check
    expect(await records()).toEqual(['1', '1']);
  });
});

describe('a partitioned queue whose Redis restarted without persistence', () => {
  const env = usePrivateRedisApps();

  it('is recorded again when the connection is back, and a keyed enqueue succeeds', async () => {
    const connection = { url: env.server.url };
    const { client } = await startApp({
      prefix: env.prefix,
      imports: [RestoreTasksModule],
      options: { ...PARTS, connection },
    });
    const layout = new QueuePartitions(env.prefix, 'parts', 2).all[0].layout;
    expect(await env.admin.get(layout)).toBe('2');
    await env.server.restart();
    await waitFor(async () => (await env.admin.get(layout).catch(() => undefined)) === '2', {
      timeoutMs: 10_000,
      description: 'the record back after the reconnect',
    });
    const keyed = await client.enqueue('lr.keyed', {}, { queue: 'parts', key: 'k' });
    expect(await keyed.result({ timeoutMs: 10_000 })).toBe('keyed ran');
  });
});

import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { QueueClient, StreamQueueModule, Task } from '../../lib';
import { QueuePartitions } from '../../lib/partitions/queue-partitions';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { partitionOfTaskId } from '../../lib/partitions/task-ids';
import { useProbeApps } from '../fixtures/probe-apps';
import { logger, startApp } from '../fixtures/test-app';
import { testConnection } from '../utils/redis';
import { sleep } from '../utils/helpers';

let runs = 0;

@Injectable()
class FrozenTasks {
  @Task('frozen.limited', { queue: 'parts', groupConcurrency: 1 })
  limited(): string {
    runs += 1;
    return 'ran';
  }
}

@Module({ providers: [FrozenTasks] })
class FrozenTasksModule {}

/**
 * A plain entry of a limited task read while partition 0's layout record is frozen ('<from>><to>':
 * a count switch in progress, or a lost record's restore) was dead-lettered as written under a
 * stale count, though the freeze is gone within moments and nothing was wrong with it.
 */
describe('a plain entry of a limited task read under a frozen layout record', () => {
  const env = useProbeApps();
  beforeEach(() => {
    runs = 0;
  });

  it('waits, pending, until the switch commits or thaws, then runs once and is never dead-lettered', async () => {
    await startApp({
      prefix: env.prefix,
      imports: [FrozenTasksModule],
      options: { concurrency: 4, queues: { parts: { partitions: 2 } } },
    });
    const [p0] = new QueuePartitions(env.prefix, 'parts', 2).all;
    expect(await env.redis.get(p0.layout)).toBe('2');
    // A switch to 3 froze partition 0 (the entry was not written yet when it looked).
    await env.redis.set(p0.layout, '2>3');
    // A producer without the task's definition nor the queue's config: a plain entry in partition 0.
    const blind = await NestFactory.createApplicationContext(
      StreamQueueModule.forRoot({ connection: testConnection(), prefix: env.prefix, worker: false }),
      { logger }, // logger: false would silence every app's Logger (Nest's static one)
    );
    try {
      const warnedBefore = logger.warnings().length;
      const plain = await blind.get(QueueClient).enqueue('frozen.limited', {}, { queue: 'parts' });
      expect(partitionOfTaskId(plain.id)).toBe(0);
      const outcome = plain.result({ timeoutMs: 15_000 }).then(
        (value) => value,
        (e: unknown) => e,
      );
      // Several reads and recoveries of the worker (100 ms sweeps, recovered after 1 s idle).
      await sleep(3_000);
      expect(await env.redis.xlen(p0.deadLetter)).toBe(0);
      expect(runs).toBe(0);
      // Still pending, with its delivery given back each time: no attempt burnt while it waited.
      const [pending] = (await env.redis.xpending(p0.stream, CONSUMER_GROUP, '-', '+', 10)) as [
        string,
        string,
        number,
        number,
      ][];
      expect(pending?.[3] ?? 0).toBeLessThanOrEqual(1);
      const said = logger
        .warnings()
        .slice(warnedBefore)
        .filter((w) => w.includes('2>3'));
      expect(said).toHaveLength(1); // said once, not at every recovery

      await env.redis.set(p0.layout, '2'); // the switch thawed
      expect(await outcome).toBe('ran');
      expect(runs).toBe(1);
      expect(await env.redis.xlen(p0.deadLetter)).toBe(0);
    } finally {
      await blind.close();
    }
  });
});

import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { QueueClient, StreamQueueModule, Task, TaskFailedError } from '../../lib';
import { partitionOfGroup } from '../../lib/partitions/queue-partitions';
import { partitionOfTaskId } from '../../lib/partitions/task-ids';
import { startApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { mostAtOnce } from '../fixtures/runs-at-once';
import { testConnection } from '../utils/redis';
import { sleep, waitFor } from '../utils/helpers';

const runs: Array<{ start: number; end?: number }> = [];

@Injectable()
class StaleTasks {
  @Task('stale.one', { queue: 'parts', groupConcurrency: 1 })
  async one(): Promise<void> {
    const run: { start: number; end?: number } = { start: performance.now() };
    runs.push(run);
    await sleep(400);
    run.end = performance.now();
  }
}

@Module({ providers: [StaleTasks] })
class StaleTasksModule {}

/**
 * A worker still mapping with an old count (the README lets one run on after a count change: its
 * keyed and flow writes are refused) read a plain entry of a group-limited task in partition 0,
 * where an unkeyed plain enqueue needs no layout check, and moved it into admission there
 * (enter-admission.lua read no layout record): the ungrouped group then ran in partition 0 beside
 * its runs in partition 1, where the new count routes it, above groupConcurrency 1.
 */
describe('enter-admission by a worker with a stale partition count', () => {
  const env = useProbeApps();
  beforeEach(() => {
    runs.length = 0;
  });

  it('never admits a plain entry under the old mapping: the ungrouped group runs in one partition', async () => {
    // Under 1 and 2 partitions the ungrouped group is partition 0's; under 3, partition 1's.
    expect([partitionOfGroup(undefined, 1), partitionOfGroup(undefined, 3)]).toEqual([0, 1]);
    await startApp({
      prefix: env.prefix,
      imports: [StaleTasksModule],
      options: { concurrency: 4, queues: { parts: { partitions: 1 } } },
    });
    // The queue is empty: a producer with 3 partitions makes the count 3; the worker runs on.
    const current = await startApp({
      prefix: env.prefix,
      imports: [StaleTasksModule],
      options: { worker: false, queues: { parts: { partitions: 3 } } },
    });
    // A producer without the definition nor the queue's config: a plain entry in partition 0.
    @Module({
      imports: [StreamQueueModule.forRoot({ connection: testConnection(), prefix: env.prefix, worker: false })],
    })
    class BlindProducerModule {}
    const blind = await NestFactory.createApplicationContext(BlindProducerModule, { logger: false });
    try {
      const plain = await blind.get(QueueClient).enqueue('stale.one', {}, { queue: 'parts' });
      expect(partitionOfTaskId(plain.id)).toBe(0);
      const plainOutcome = plain.result({ timeoutMs: 10_000 }).then(
        () => 'ran',
        (e: unknown) => e,
      );
      await sleep(150); // the stale worker has read it
      // The ungrouped group's own task, where the count routes it, and a worker of that count.
      const routed = await current.client.enqueue('stale.one', {}, { queue: 'parts' });
      expect(partitionOfTaskId(routed.id)).toBe(1);
      await startApp({
        prefix: env.prefix,
        imports: [StaleTasksModule],
        options: { concurrency: 4, queues: { parts: { partitions: 3 } } },
      });
      await routed.result({ timeoutMs: 10_000 });
      const outcome = await plainOutcome;
      await waitFor(() => runs.every((r) => r.end !== undefined));
      expect(mostAtOnce(runs)).toBe(1);
      // The stale worker made no decision under its old mapping: the entry is dead-lettered,
      // saying why, and a redrive puts it back where a worker of the count decides.
      expect(outcome).toBeInstanceOf(TaskFailedError);
      expect(String((outcome as Error).message)).toMatch(
        /maps 1 partition\(s\) where the queue's layout record says 3/,
      );
    } finally {
      await blind.close();
    }
  });
});

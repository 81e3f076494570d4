import { Injectable, Module } from '@nestjs/common';
import { Task, type TaskContext } from '../../lib';
import { QueuePartitions } from '../../lib/partitions/queue-partitions';
import { defineScripts } from '../../lib/redis/scripts';
import { enqueueFlowScript } from '../../lib/scripts/enqueue-flow.script';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { waitFor } from '../utils/redis';

const PER_MS = 3_000;
/** Starts on Redis's clock (ctx.startedAt: the claim counted them), by task id. */
const starts = new Map<string, number>();

@Injectable()
class SpreadTasks {
  // Shares of 1 and 1 over the queue's 2 partitions: each partition has a window of its own.
  @Task('attack.spread', { rateLimit: { max: 2, perMs: PER_MS } })
  spread(_payload: unknown, ctx: TaskContext) {
    starts.set(ctx.id, ctx.startedAt ?? -1);
  }
}

@Module({ providers: [SpreadTasks] })
class SpreadTasksModule {}

const PARTITIONED = { queues: { default: { partitions: 2 } } };

/*
 * Review finding: the runs a worker holds for a rate token claim in turn by task and group
 * (RateHold's line), and once one is told to wait, the others wait as long without asking. On a
 * partitioned queue, a task's rateLimit is a share per partition, each with its own window, and
 * its ungrouped runs spread over the partitions; the line did not tell them apart. A run held in
 * partition 1 whose window had freed waited on for partition 0's full window, up to a window
 * more (an hour, under a limit per hour).
 */
describe('attack: runs held for a rate token in two partitions share one line', () => {
  const env = useProbeApps();
  beforeEach(() => starts.clear());
  const redisMs = async () => {
    const [s, us] = await env.redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };

  it("a run held in partition 1 starts when partition 1's window frees, not when partition 0's does", async () => {
    await startApp({
      prefix: env.prefix,
      imports: [SpreadTasksModule],
      options: { ...PARTITIONED, worker: false },
    });
    defineScripts(env.redis);
    const partitions = new QueuePartitions(env.prefix, 'default', 2);
    // Admitted without tokens, as a producer whose definition of the task has no rate does: the
    // worker's own share (1 per window in each partition) starts the first and holds the others.
    const admit = async (partition: number, id: string) => {
      await enqueueFlowScript(partitions.keysFor(partition), {
        id,
        name: 'attack.spread',
        payload: '{}',
        delayMs: 0,
        runAt: 0,
        limits: { global: 10, group: 0, agingMs: 1000 },
        partitions: 2,
      }).run(env.redis);
    };
    for (const name of ['a1', 'a2', 'a3']) await admit(0, name);
    await startApp({ prefix: env.prefix, imports: [SpreadTasksModule], options: { ...PARTITIONED, concurrency: 6 } });
    await waitFor(() => starts.has('a1'), { description: 'a1 started' });
    const a1 = starts.get('a1')!;
    // A window later a2 starts and a3, in partition 0, is told to wait a window more. Partition
    // 1's window fills a third of a window after a1's and frees between those two.
    await waitFor(async () => (await redisMs()) >= a1 + PER_MS / 3, { description: 'a third of a window' });
    for (const id of ['b0~1', 'b1~1']) await admit(1, id);
    await waitFor(() => starts.has('b0~1'), { description: 'b0 started' });
    const b0 = starts.get('b0~1')!;

    await waitFor(() => starts.has('b1~1'), { timeoutMs: 3 * PER_MS, description: 'b1 started' });
    // a3 was told to wait a window from a2's start, before b0's start left its window.
    expect(starts.get('a2')! - a1).toBeLessThan(PER_MS + 500);
    expect(starts.get('a2')!).toBeLessThan(b0 + PER_MS);
    // b1's token is free once b0's start leaves partition 1's window, PER_MS after it.
    expect(starts.get('b1~1')! - b0).toBeLessThan(PER_MS + 500);
  }, 30_000);
});

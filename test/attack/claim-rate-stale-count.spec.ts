import { Injectable, Module } from '@nestjs/common';
import { Task, type TaskContext } from '../../lib';
import { QueuePartitions } from '../../lib/partitions/queue-partitions';
import { partitionOfTaskId } from '../../lib/partitions/task-ids';
import { startApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { startedByDeadWorker } from '../fixtures/dead-rated-start';
import { Latch, sleep, waitFor } from '../utils/helpers';

const PER_MS = 4_000;
/** Starts of the rated task's handler, on Redis's clock. */
const starts: Array<{ id: string; at: number }> = [];
let blocker = new Latch();

@Injectable()
class StaleRateTasks {
  @Task('sr.rate', { queue: 'sr', rateLimit: { max: 2, perMs: PER_MS } })
  rate(_payload: unknown, ctx: TaskContext) {
    starts.push({ id: ctx.id, at: ctx.startedAt! });
  }

  /** Holds the stale worker's only slot, so the rated entry is read by the dead worker first. */
  @Task('sr.block', { queue: 'sr' })
  block() {
    return blocker.wait();
  }
}

@Module({ providers: [StaleRateTasks] })
class StaleRateModule {}

/**
 * A worker still mapping an old partition count (the README lets one run on after a change) claimed
 * restarts of rated runs under its own definition's windows as its count shares them: started with
 * 1 partition, it took the whole rateLimit.max in partition 0 where the queue, now of 2, gives
 * partition 0 half of it. A reclaimed run's restart then started inside a window already holding
 * partition 0's share, and the fleet started more than max in one perMs.
 */
describe('claim of a rated restart by a worker with a stale partition count', () => {
  const env = useProbeApps();
  beforeEach(() => {
    starts.length = 0;
    blocker = new Latch();
  });
  afterEach(() => blocker.open());

  it('never starts more than rateLimit.max in a window fleet-wide: the restart waits for its share', async () => {
    // The stale worker: 1 partition, one slot.
    const stale = await startApp({
      prefix: env.prefix,
      imports: [StaleRateModule],
      options: { concurrency: 1, queues: { sr: { partitions: 1 } } },
    });
    // The queue is empty: a producer of 2 partitions makes the count 2 (shares 1 and 1 of max 2).
    const producer = await startApp({
      prefix: env.prefix,
      imports: [StaleRateModule],
      options: { worker: false, queues: { sr: { partitions: 2 } } },
    });
    expect(await env.redis.get(`{${env.prefix}:sr}:layout`)).toBe('2');
    // The stale worker's slot is held by a plain task in partition 0.
    const block = await stale.client.enqueue('sr.block', {}, { queue: 'sr' });
    expect(partitionOfTaskId(block.id)).toBe(0);
    await sleep(300);
    // One rated task in each partition, each started by a worker that died right after its claim.
    const rated = [
      await producer.client.enqueue('sr.rate', {}, { queue: 'sr' }),
      await producer.client.enqueue('sr.rate', {}, { queue: 'sr' }),
    ];
    expect(rated.map((h) => partitionOfTaskId(h.id)).sort()).toEqual([0, 1]);
    const keys = new QueuePartitions(env.prefix, 'sr', 2).all;
    const deadStarts: number[] = [];
    for (const handle of rated) {
      const partition = partitionOfTaskId(handle.id);
      if (partition === 1) {
        const { CONSUMER_GROUP } = await import('../../lib/stream-queue.constants');
        await env.redis.xgroup('CREATE', keys[1].stream, CONSUMER_GROUP, '0', 'MKSTREAM').catch(() => undefined);
      }
      deadStarts.push(await startedByDeadWorker(keys[partition], handle.id));
    }
    // The stale worker's slot frees: it reclaims partition 0's run from the dead worker.
    blocker.open();
    const inP0 = rated.find((h) => partitionOfTaskId(h.id) === 0)!;
    await waitFor(() => starts.some((s) => s.id === inP0.id), { timeoutMs: 15_000 });
    const restart = starts.find((s) => s.id === inP0.id)!.at;
    // Two starts were counted (one per partition, each its share): a third within the window
    // would be above max 2 fleet-wide.
    expect(restart - Math.min(...deadStarts)).toBeGreaterThanOrEqual(PER_MS);
  }, 30_000);
});

import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PartitionLayoutError, QueueClient, StreamQueueModule } from '../../lib';
import { partitionOfGroup, QueuePartitions } from '../../lib/partitions/queue-partitions';
import { useProbeApps } from '../fixtures/probe-apps';
import { testConnection } from '../utils/redis';
import { sleep } from '../utils/helpers';

/** Group 'b' lives in partition 0 under 2 partitions, in partition 1 under 3. */
const GROUP = 'b';

/**
 * A count change (2 -> 3) raced by a producer still mapping with 2 that enqueues a group's tasks
 * as fast as it can: the freeze of the group's partition and each flow enqueue there are one
 * script each on one slot, so either the enqueue lands first (the freeze finds the task and the
 * switch is refused) or the freeze does (the enqueue is refused). Never both: whatever the
 * outcome, every task of the group sits in the partition the final count routes it to.
 * Fails if enqueue-flow.lua's layout check (layoutRefusal) is taken out: the rounds whose switch
 * wins let the stale producer write the group into partition 0 under a stored count of 3.
 */
describe('a flow enqueue racing a partition count change', () => {
  const env = useProbeApps();
  const opened: INestApplicationContext[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((app) => app.close()));
  });
  /** A producer without task definitions (any name goes) mapping `queue` with `partitions`. */
  const producer = async (queue: string, partitions: number) => {
    @Module({
      imports: [
        StreamQueueModule.forRoot({
          connection: testConnection(),
          prefix: env.prefix,
          worker: false,
          queues: { [queue]: { partitions } },
        }),
      ],
    })
    class ProducerModule {}
    const app = await NestFactory.createApplicationContext(ProducerModule, { logger: false, abortOnError: false });
    opened.push(app);
    return app.get(QueueClient);
  };

  it('loses to the freeze or makes the switch fail: a group never sits outside its partition', async () => {
    expect([partitionOfGroup(GROUP, 2), partitionOfGroup(GROUP, 3)]).toEqual([0, 1]);
    const outcomes: string[] = [];
    for (const [round, delayMs] of [0, 2, 5, 10, 20, 40, 80, 200].entries()) {
      const queue = `race${round}`;
      const stale = await producer(queue, 2);
      const enqueues: Array<Promise<unknown>> = [];
      const burst = (async () => {
        await sleep(delayMs);
        for (let i = 0; i < 40; i++) {
          enqueues.push(stale.enqueue('race.task', { i }, { queue, group: GROUP }).catch((e: unknown) => e));
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const boot = producer(queue, 3).then(
        () => 'switched',
        (e: unknown) => (e instanceof PartitionLayoutError ? 'refused' : e),
      );
      const [switched] = await Promise.all([boot, burst]);
      const replies = await Promise.all(enqueues);
      const finalCount = switched === 'switched' ? 3 : 2;
      expect(Number((await env.redis.get(new QueuePartitions(env.prefix, queue, 1).all[0].layout)) ?? 1)).toBe(
        finalCount,
      );
      if (replies.some((r) => r instanceof Error && !(r instanceof PartitionLayoutError)))
        throw replies.find((r) => r instanceof Error && !(r instanceof PartitionLayoutError));
      const written = replies.filter((r) => !(r instanceof Error)).length;
      const refused = replies.filter((r) => r instanceof PartitionLayoutError).length;
      expect(written + refused).toBe(replies.length);
      // Each written task is in the group's partition under the final count, and nowhere else.
      const home = partitionOfGroup(GROUP, finalCount);
      for (const keys of new QueuePartitions(env.prefix, queue, 3).all) {
        const held = (await env.redis.xlen(keys.stream)) + (await env.redis.hlen(keys.flow.tasks));
        if (keys.partition !== home)
          expect({ partition: keys.partition, held }).toEqual({ partition: keys.partition, held: 0 });
      }
      if (switched === 'refused') expect(written).toBeGreaterThan(0);
      outcomes.push(`${delayMs}ms: ${String(switched)}, ${written} written, ${refused} refused`);
    }
    // Both outcomes were met: the late bursts find the switch made.
    expect(outcomes.some((o) => o.includes('switched'))).toBe(true);
    expect(outcomes.some((o) => o.includes('refused,'))).toBe(true);
  }, 60_000);
});

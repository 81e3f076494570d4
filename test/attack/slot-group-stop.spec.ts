import { slotGroupReaders } from '../partitions/slot-group-readers';
import type { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { InFlight } from '../../lib/consumer/in-flight';
import { ALWAYS_HELD } from '../../lib/consumer/lease';
import type { QueueParts } from '../../lib/consumer/queue-context';
import { PauseGate } from '../../lib/consumer/pause-gate';
import { QueueConsumer } from '../../lib/consumer/queue-consumer';
import { partitionReads } from '../../lib/consumer/slot-group-reads';
import { Slots } from '../../lib/consumer/slots';
import { partitionOfKey, QueuePartitions } from '../../lib/partitions/queue-partitions';
import { defineScripts } from '../../lib/redis/scripts';
import { enqueueScript } from '../../lib/scripts/enqueue.script';
import { resolveConfig } from '../../lib/stream-queue.config';
import { StreamQueueEvents } from '../../lib/stream-queue.events';
import { TaskRegistry } from '../../lib/task/task.registry';
import { definitionOf } from '../fixtures/settle-context';
import { RecordingLogger } from '../fixtures/recording-logger';
import { Latch, useSpecRedis, waitFor } from '../utils/helpers';
import { testConnection } from '../utils/redis';
import { interceptCommands } from '../fixtures/command-hooks';

const GROUP = 'workers';
const CONSUMER = 'c1';

/**
 * Attack on stopping a queue whose partitions span slot groups (a cluster; here one Redis with
 * the grouping a cluster would give: partition 0 alone, partition 1 in a group of its own). The
 * pipeline reads one group's answer and admits it while the other group's read stays in flight.
 * Stopping then cuts that read short: what it got lands in SlotGroupReads, to be collected by the
 * next read() ("the reads cut short still deliver what they got, to be run like any other"). But
 * a stopping consumer never calls read() again: the entry stays pending under this live
 * consumer, never run, its slot held, and stop() reports a clean drain.
 */
describe('attack: stopping while a slot group answered and is not yet collected', () => {
  const { prefix, redis } = useSpecRedis();
  const blocking: Redis[] = [];
  afterAll(() => blocking.forEach((r) => r.disconnect()));

  it('runs (or at least does not strand) the entries a read of another group got before stop()', async () => {
    defineScripts(redis);
    const partitions = new QueuePartitions(prefix, 'default', 2);
    for (const keys of partitions.all) await redis.set(keys.layout, '2');
    const config = resolveConfig({ connection: testConnection(), prefix, blockMs: 30_000 });
    const slots = new Slots(4);

    // Admission of partition 0's keyed entry (its claim script) waits for `admitted`: the time a
    // claim takes on a slow Redis, made deterministic.
    const claimSent = new Latch();
    const admitted = new Latch();
    const slowClaims = interceptCommands(redis, {
      sq_claim: async (_args, send) => {
        claimSent.open();
        await admitted.wait();
        return send();
      },
    });

    const lanes = partitions.all.map((keys): QueueParts => ({
      queue: 'default',
      keys,
      group: GROUP,
      consumer: CONSUMER,
      redis: slowClaims,
      config,
      events: new StreamQueueEvents(),
      logger: new RecordingLogger() as unknown as Logger,
      inFlight: new InFlight(),
      slots,
      lease: ALWAYS_HELD,
    }));
    const { groupOf, readerOf } = slotGroupReaders(redis, partitions, {
      group: GROUP,
      consumer: CONSUMER,
      blockMs: config.blockMs,
      lease: ALWAYS_HELD,
      blocking,
    });

    const ran: string[] = [];
    const registry = new TaskRegistry();
    registry.add({ ...definitionOf('job'), handler: (payload) => void ran.push(String(payload)) });
    const consumer = new QueueConsumer(lanes, partitionReads(lanes, groupOf, readerOf), registry, new PauseGate());
    await consumer.start();

    // A keyed task in partition 0: its group's read answers, and its admission claims.
    const key = ['k0', 'k1', 'k2', 'k3'].find((k) => partitionOfKey(k, 2) === 0)!;
    await enqueueScript(partitions.all[0], {
      id: 'keyed',
      name: 'job',
      payload: '"keyed"',
      delayMs: 0,
      runAt: 0,
      partitions: 2,
      mode: 'add',
      key,
      everyMs: 0,
      periodic: false,
    }).run(redis);
    await claimSent.wait();

    // Meanwhile partition 1's group (its read still in flight) is handed an unkeyed task.
    await redis.xadd(partitions.all[1].stream, '*', 'id', 'unkeyed', 'n', 'job', 'p', '"unkeyed"');
    await waitFor(async () => Number((await redis.xpending(partitions.all[1].stream, GROUP))[0]) === 1, {
      description: "partition 1's read got the entry",
    });

    // Stop now, then let the keyed task's admission finish.
    const stopped = consumer.stop();
    admitted.open();
    const { drained } = await stopped;

    const stillPending = Number((await redis.xpending(partitions.all[1].stream, GROUP))[0]);
    expect({ ran: ran.sort(), stillPending, drained }).toEqual({
      ran: ['keyed', 'unkeyed'],
      stillPending: 0,
      drained: true,
    });
  });
});

import type { Redis } from 'ioredis';
import type { Handover } from '../../lib/consumer/intake';
import type { Lease } from '../../lib/consumer/lease';
import type { QueueParts } from '../../lib/consumer/queue-context';
import { SharedStreamReader } from '../../lib/consumer/shared-stream-reader';
import { partitionReads } from '../../lib/consumer/slot-group-reads';
import { Slots } from '../../lib/consumer/slots';
import { UnblockableConnection } from '../../lib/consumer/unblockable-connection';
import { QueuePartitions } from '../../lib/partitions/queue-partitions';
import { SingleTopology } from '../../lib/redis/topology-single';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

export const GROUP = 'workers';
export const CONSUMER = 'c1';

/**
 * The grouping a cluster would give a queue's partitions, on one Redis: partition 0 alone, the
 * others together. Each group gets a blocking reader of its own (its connections go to
 * `blocking`, for the spec to close), as ConsumerHost builds them per slot group.
 */
export function slotGroupReaders(
  redis: Redis,
  partitions: QueuePartitions,
  options: { group: string; consumer: string; blockMs: number; lease: Lease; blocking: Redis[] },
): { groupOf(stream: string): number; readerOf(stream: string): SharedStreamReader } {
  const topology = new SingleTopology(redis);
  const readers = new Map<number, SharedStreamReader>();
  const groupOf = (stream: string) => (stream === partitions.all[0].stream ? 0 : 1);
  const readerOf = (stream: string) => {
    const group = groupOf(stream);
    let reader = readers.get(group);
    if (!reader) {
      const route = topology.blockingRoute(stream, {
        track: (r) => void options.blocking.push(r),
        release: () => {},
      });
      reader = new SharedStreamReader(new UnblockableConnection(route, () => {}), {
        group: options.group,
        consumer: options.consumer,
        blockMs: options.blockMs,
        heartbeatIntervalMs: 100,
        lease: options.lease,
      });
      readers.set(group, reader);
    }
    return reader;
  };
  return { groupOf, readerOf };
}

/** Handover sizes, one per partition. */
export const sizes = (handovers: Handover[]): number[] => handovers.map((h) => h.entries.length);

/**
 * A spec's queue reads over real connections, each spec with a fresh prefix: `setup(capacity,
 * partitions)` builds one queue's Slots and its reads the way ConsumerHost does (partitionReads),
 * its commands on `commands` (default: the spec's connection). The blocking connections are
 * closed and the keys removed after each spec.
 */
export function readsFixture(options: { commands?: Redis } = {}) {
  const redis = createRedis();
  const commands = options.commands ?? redis;
  const blocking: Redis[] = [];
  const lease: Lease = { isHeld: () => true, heldSince: () => 0, livenessSince: () => undefined };
  let prefix = '';
  beforeEach(() => (prefix = randomPrefix()));
  afterEach(async () => {
    blocking.splice(0).forEach((r) => r.disconnect());
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  function setup(capacity: number, partitionCount: number) {
    const partitions = new QueuePartitions(prefix, 'default', partitionCount);
    const slots = new Slots(capacity);
    const lanes = partitions.all.map(
      (keys) =>
        ({
          queue: 'default',
          keys,
          group: GROUP,
          consumer: CONSUMER,
          redis: commands,
          slots,
          lease,
        }) as unknown as QueueParts,
    );
    const { groupOf, readerOf } = slotGroupReaders(commands, partitions, {
      group: GROUP,
      consumer: CONSUMER,
      blockMs: 30_000,
      lease,
      blocking,
    });
    return { partitions, slots, reads: partitionReads(lanes, groupOf, readerOf) };
  }
  return { redis, blocking, setup };
}

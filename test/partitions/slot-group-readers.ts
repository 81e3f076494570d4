import type { Redis } from 'ioredis';
import type { Lease } from '../../lib/consumer/lease';
import { SharedStreamReader } from '../../lib/consumer/shared-stream-reader';
import { UnblockableConnection } from '../../lib/consumer/unblockable-connection';
import type { QueuePartitions } from '../../lib/partitions/queue-partitions';
import { SingleTopology } from '../../lib/redis/topology-single';

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

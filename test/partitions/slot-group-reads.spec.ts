import type { Redis } from 'ioredis';
import type { Handover } from '../../lib/consumer/intake';
import type { QueueParts } from '../../lib/consumer/queue-context';
import { SharedStreamReader } from '../../lib/consumer/shared-stream-reader';
import { partitionReads } from '../../lib/consumer/slot-group-reads';
import { Slots } from '../../lib/consumer/slots';
import { UnblockableConnection } from '../../lib/consumer/unblockable-connection';
import { QueuePartitions } from '../../lib/partitions/queue-partitions';
import { SingleTopology } from '../../lib/redis/topology-single';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

const GROUP = 'workers';
const CONSUMER = 'c1';

/**
 * The reads of a queue whose partitions span slot groups, on one Redis with the grouping a
 * cluster would give (partition 0 alone, partitions 1 and 2 together): each group has a blocking
 * reader of its own, and the queue's slots are split between their reads.
 */
describe('SlotGroupReads', () => {
  const redis = createRedis();
  let prefix: string;
  const blocking: Redis[] = [];
  beforeEach(() => (prefix = randomPrefix()));
  afterEach(async () => {
    blocking.splice(0).forEach((r) => r.disconnect());
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  function setup(capacity: number) {
    const partitions = new QueuePartitions(prefix, 'default', 3);
    const slots = new Slots(capacity);
    const lanes = partitions.all.map(
      (keys) => ({ queue: 'default', keys, group: GROUP, consumer: CONSUMER, redis, slots }) as unknown as QueueParts,
    );
    const topology = new SingleTopology(redis);
    const readers = new Map<number, SharedStreamReader>();
    const groupOf = (stream: string) => (stream === partitions.all[0].stream ? 0 : 1);
    const readerOf = (stream: string) => {
      const group = groupOf(stream);
      let reader = readers.get(group);
      if (!reader) {
        const route = topology.blockingRoute(stream, { track: (r) => void blocking.push(r), release: () => {} });
        reader = new SharedStreamReader(new UnblockableConnection(route, () => {}), {
          group: GROUP,
          consumer: CONSUMER,
          blockMs: 30_000,
          heartbeatIntervalMs: 100,
          lease: { isHeld: () => true, heldSince: () => 0 },
        });
        readers.set(group, reader);
      }
      return reader;
    };
    return { partitions, slots, reads: partitionReads(lanes, groupOf, readerOf) };
  }

  /** Clients blocked in XREADGROUP on this Redis (counted against a baseline: others may block too). */
  async function blockedReads(): Promise<number> {
    const list = String(await redis.client('LIST')).split('\n');
    return list.filter((line) => / flags=b /.test(line) && line.includes('cmd=xreadgroup')).length;
  }

  const sizes = (handovers: Handover[]) => handovers.map((h) => h.entries.length);

  it('answers with the first group that has entries, one handover per partition, while the other keeps blocking', async () => {
    const { partitions, slots, reads } = setup(4);
    await reads.ensureGroup();
    const before = await blockedReads();

    const first = reads.read();
    await waitFor(async () => (await blockedReads()) - before === 2, { description: 'both groups block' });
    // 4 slots split in proportion to the partitions: 1 for partition 0's group, 3 for the other.
    expect(slots.free).toBe(0);
    await redis.xadd(partitions.all[2].stream, '*', 'n', '1');
    expect(sizes(await first)).toEqual([0, 0, 1]);
    // Exact: 1 held by the entry, 1 still held by partition 0's blocked read.
    expect(slots.free).toBe(2);

    // The blocked read is not sent again: the next read() waits for it, and re-sends the other.
    const second = reads.read();
    await waitFor(async () => (await blockedReads()) - before === 2, { description: 'both groups block again' });
    await redis.xadd(partitions.all[0].stream, '*', 'n', '2');
    expect(sizes(await second)).toEqual([1, 0, 0]);
    // 2 held by entries, 2 by the other group's read (sent with the 2 slots then free).
    expect(slots.free).toBe(0);
    slots.release(2);

    // Closing cuts the reads in flight short: read() answers with nothing and every hold ends.
    const third = reads.read();
    await waitFor(async () => (await blockedReads()) - before === 2, { description: 'both groups block a third time' });
    reads.close();
    expect(sizes(await third)).toEqual([0, 0, 0]);
    expect(slots.free).toBe(4);
  });

  it('entries in both groups all arrive: with the first answer, or with the next read()', async () => {
    const { partitions, slots, reads } = setup(6);
    await reads.ensureGroup();
    await redis.xadd(partitions.all[0].stream, '*', 'n', '1');
    await redis.xadd(partitions.all[1].stream, '*', 'n', '2');
    await redis.xadd(partitions.all[2].stream, '*', 'n', '3');
    const got = sizes(await reads.read());
    // Whatever is not in this answer arrives in the next one.
    const next = got.includes(0) ? sizes(await reads.read()) : [0, 0, 0];
    expect(got.map((n, p) => n + next[p])).toEqual([1, 1, 1]);
    reads.close();
    await reads.read();
    expect(slots.free).toBe(3);
  });
});

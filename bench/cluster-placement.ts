/**
 * Places a partitioned queue's slots evenly over the masters of a fresh cluster, as an operator
 * would before the queue holds data (docs/scaling.md): partition p's slot goes to master
 * p mod masters. A partition's slot follows the hash of its name, so without this, 6 partitions
 * on 3 masters land 2/2/2 only about one time in eight. Empty slots move with CLUSTER SETSLOT
 * ... NODE alone (no MIGRATE): first on the new owner, then on every other master.
 */
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { QueuePartitions } from '../lib/partitions/queue-partitions';
import type { RedisClusterHandle } from '../test/utils/redis-cluster';

export async function placePartitionsEvenly(
  cluster: RedisClusterHandle,
  prefix: string,
  queue: string,
  partitions: number,
): Promise<void> {
  const masters = await cluster.masters();
  const clients = masters.map((m) => new Redis(m.port, '127.0.0.1'));
  try {
    const ids = await Promise.all(clients.map(async (c) => String(await c.cluster('MYID'))));
    const streams = new QueuePartitions(prefix, queue, partitions).all.map((keys) => keys.stream);
    for (const [p, stream] of streams.entries()) {
      const slot = calculateSlot(stream);
      const to = p % masters.length;
      if (Number(await clients[to].cluster('COUNTKEYSINSLOT', slot)) !== 0) {
        throw new Error(`slot ${slot} of partition ${p} holds keys: place partitions before enqueueing`);
      }
      await clients[to].call('CLUSTER', 'SETSLOT', slot, 'NODE', ids[to]);
      for (const [i, client] of clients.entries()) {
        if (i !== to) await client.call('CLUSTER', 'SETSLOT', slot, 'NODE', ids[to]);
      }
    }
    await cluster.waitHealthy();
  } finally {
    clients.forEach((c) => c.disconnect());
  }
}

import type { Redis } from 'ioredis';
import { PartitionLayoutError } from '../errors';
import { QueuePartitions } from './queue-partitions';
import { settledStoredCount } from './stored-partitions';

/**
 * @internal Runs `write` under `own`, this process's partitions of the queue; refused for a stale
 * count (PartitionLayoutError: another deploy changed `queues.<queue>.partitions` since this
 * process started), runs it once more under the count partition 0's record holds. Only for a
 * write whose script checks the count of the partition it writes (cancel.lua does): the key is
 * where that count maps it, or the script refuses again, so the retry never answers for the
 * wrong partition. No retry during a change of the count ('from>to'), for a record no version
 * writes, or when partition 0 records this process's count: the refusal stands. A retry refused
 * too throws this process's refusal, with the record it met then.
 */
export async function retryUnderStoredCount<T>(
  redis: Redis,
  own: QueuePartitions,
  write: (partitions: QueuePartitions) => Promise<T>,
): Promise<T> {
  try {
    return await write(own);
  } catch (error) {
    if (!(error instanceof PartitionLayoutError)) throw error;
    const count = await settledStoredCount(redis, own.prefix, own.queue);
    if (count === undefined || count === own.count) throw error;
    return write(new QueuePartitions(own.prefix, own.queue, count)).catch((retried: unknown) => {
      // The retry's error would name the stored count as this process's.
      if (retried instanceof PartitionLayoutError)
        throw PartitionLayoutError.staleCount(own.queue, retried.stored, own.count);
      throw retried;
    });
  }
}

import { layoutOf, layoutRefusal } from '../partitions/layout-record';
import { quotedText } from '../quoted-text';
import { StreamQueueError } from './stream-queue.error';

/**
 * The partition count this process has for a queue (module option `queues.<queue>.partitions`,
 * 1 when not set) is not the one stored in Redis, or cannot become it: at bootstrap, because a
 * partition still holds tasks; on an enqueue, because the count changed since this process
 * started. Nothing was written.
 * @publicApi
 */
export class PartitionLayoutError extends StreamQueueError {
  constructor(
    readonly queue: string,
    /** The stored layout: a count, or '<from>><to>' while a change is in progress. */
    readonly stored: string,
    readonly configured: number,
    message: string,
  ) {
    super('PARTITION_LAYOUT', message);
  }

  /** @internal The error for a script's 'LAYOUT <stored> <count>' refusal (layoutRefusal); the error itself otherwise. */
  static fromReply(queue: string, error: Error): Error {
    const refusal = layoutRefusal(error);
    return refusal ? PartitionLayoutError.staleCount(queue, refusal.stored, refusal.count) : error;
  }

  /** @internal This process's count `configured` is not the `stored` layout (a script's refusal, or a read's check). */
  static staleCount(queue: string, stored: string, configured: number): PartitionLayoutError {
    return new PartitionLayoutError(
      queue,
      stored,
      configured,
      `Queue "${queue}" is stored with ${describeLayout(stored)}, but this process uses ${configured} ` +
        `(option queues.${queue}.partitions): nothing was written. Restart it with the stored count.`,
    );
  }
}

/**
 * @internal Partition 0's layout record of `queue` is gone (Redis restarted without persistence, or
 * was flushed): it reads as 1 partition, and this process (`configured`) could not record its
 * count again, for `reason` (a partition holds a task: lost-layouts.ts). Nothing was written.
 */
export function lostLayout(queue: string, configured: number, reason: string): PartitionLayoutError {
  return new PartitionLayoutError(
    queue,
    '1',
    configured,
    `Queue "${queue}": its layout record is gone (Redis restarted without persistence, or was flushed), so it ` +
      `reads as 1 partition where this process uses ${configured} (option queues.${queue}.partitions): nothing was ` +
      `written. This process records ${configured} again once the queue's partitions hold no task, at its next ` +
      `refused call or its next check; it could not now: ${reason}`,
  );
}

/**
 * @internal Bootstrap found a layout record no version writes at `key` (anyone can SET it): the
 * queue's count is unknown, so this process takes none from it, changes nothing, and does not start.
 */
export function unwrittenLayout(queue: string, key: string, stored: string, configured: number): PartitionLayoutError {
  return new PartitionLayoutError(
    queue,
    stored,
    configured,
    `Queue "${queue}" has ${describeLayout(stored)}, in key ${quotedText(key, key.length)}: its partition count ` +
      `is unknown, and this process (${configured}, option queues.${queue}.partitions) changed nothing. Set the ` +
      `record to the count the queue's tasks were written with (delete it for 1), then start again.`,
  );
}

/**
 * @internal A stored layout record in words. Anyone can SET the record, and the message is
 * logged: one the library cannot have written is quoted (quotedText), its controls escaped.
 */
export function describeLayout(stored: string): string {
  const layout = layoutOf(stored);
  if (!layout) return `a layout record no version writes, ${quotedText(stored)}`;
  if (layout.switching) return `a change from ${layout.from} to ${layout.to} partitions in progress`;
  return `${stored} partition${stored === '1' ? '' : 's'}`;
}

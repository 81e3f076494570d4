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

  /** @internal The error for a script's 'LAYOUT <stored> <count>' refusal; the error itself otherwise. */
  static fromReply(queue: string, error: Error): Error {
    const match = /^LAYOUT (\S+) (\d+)/.exec(error.message);
    if (!match) return error;
    return PartitionLayoutError.staleCount(queue, match[1], Number(match[2]));
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
 * @internal A stored layout record in words. Anyone can SET the record, and the message is
 * logged: one the library cannot have written is quoted (quotedText), its controls escaped.
 */
export function describeLayout(stored: string): string {
  const switching = /^(\d+)>(\d+)$/.exec(stored);
  if (switching) return `a change from ${switching[1]} to ${switching[2]} partitions in progress`;
  if (!/^\d+$/.test(stored)) return `a layout record no version writes, ${quotedText(stored)}`;
  return `${stored} partition${stored === '1' ? '' : 's'}`;
}

import { StreamQueueError } from './stream-queue.error';

/** What one queue still holds when a drain gives up. @publicApi */
export interface QueueBacklog {
  /**
   * Entries in the stream that no worker has read yet, and tasks waiting in the flow waiting room
   * for a concurrency slot or a rate token.
   */
  readonly waiting: number;
  /** Entries read and not yet settled: handlers running, or their settle in flight. */
  readonly running: number;
  /** Delayed tasks (delayed enqueues, retries, periodic runs) already due, not yet in the stream. */
  readonly due: number;
}

/** `drain()` ran out of time; `left` names each queue that still had work. @publicApi */
export class DrainTimeoutError extends StreamQueueError {
  constructor(
    readonly timeoutMs: number,
    readonly left: Readonly<Record<string, QueueBacklog>>,
  ) {
    const listed = Object.entries(left)
      .map(([queue, b]) => `${queue}: ${b.waiting} waiting, ${b.running} running, ${b.due} due`)
      .join('; ');
    super('DRAIN_TIMEOUT', `drain: queues not empty after ${timeoutMs} ms (${listed})`);
  }
}

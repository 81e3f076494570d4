import { StreamQueueError } from './stream-queue.error';

/** Reason of `ctx.signal` when another worker may have taken this run over. @publicApi */
export class LeaseLostError extends StreamQueueError {
  constructor(message: string) {
    super('LEASE_LOST', message);
  }
}

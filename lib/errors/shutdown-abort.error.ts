import { StreamQueueError } from './stream-queue.error';

/** @internal Reason of `ctx.signal` at the shutdown deadline; the run is left to be reclaimed. */
export class ShutdownAbortError extends StreamQueueError {
  constructor(deadlineMs: number, message?: string) {
    super(
      'SHUTDOWN',
      message ?? `The application is shutting down and the run outlived the ${deadlineMs} ms grace period.`,
    );
  }
}

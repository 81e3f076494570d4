import { StreamQueueError } from './stream-queue.error';

/** @internal Reason of `ctx.signal` at the shutdown deadline; the run is left to be reclaimed. */
export class ShutdownAbortError extends StreamQueueError {
  constructor(deadlineMs: number) {
    super('SHUTDOWN', `The application is shutting down and the run outlived the ${deadlineMs} ms grace period.`);
  }

  /** A read run held back (queue paused, waiting for a rate token) that shutdown drops unstarted. */
  static notStarted(why: string): ShutdownAbortError {
    const error = new ShutdownAbortError(0);
    error.message = `The application is shutting down while ${why}: the run was not started.`;
    return error;
  }
}

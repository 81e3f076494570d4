import { StreamQueueError } from './stream-queue.error';

/**
 * Reason of `ctx.signal` when a task's interceptor settled the run (it failed, as rxjs `timeout()`
 * does, or answered) while the handler still ran: the run's outcome is the interceptor's, and it
 * settles once the handler returns, so a cooperative handler should stop. `cause` is the
 * interceptor's error, if it failed. @publicApi
 */
export class InterceptorGaveUpError extends StreamQueueError {
  constructor(message: string, options?: { cause: unknown }) {
    super('INTERCEPTOR_GAVE_UP', message);
    if (options) this.cause = options.cause;
  }
}

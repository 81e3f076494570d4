import { StreamQueueError } from './stream-queue.error';

/** `enqueue` named a task that no `@Task()` handler in this process declares. @publicApi */
export class UnknownTaskError extends StreamQueueError {
  constructor(
    readonly taskName: string,
    known: readonly string[],
    /** Why a @Task() of that name in this application has no handler (a module loaded lazily). */
    reason?: string,
  ) {
    super(
      'UNKNOWN_TASK',
      `Unknown task "${taskName}"${reason ? `: ${reason}` : ''}. Registered tasks: ${known.join(', ') || '(none)'}.`,
    );
  }
}

import { StreamQueueError } from './stream-queue.error';

/** `enqueue` named a task that no `@Task()` handler in this process declares. @publicApi */
export class UnknownTaskError extends StreamQueueError {
  constructor(
    readonly taskName: string,
    known: readonly string[],
  ) {
    super('UNKNOWN_TASK', `Unknown task "${taskName}". Registered tasks: ${known.join(', ') || '(none)'}.`);
  }
}

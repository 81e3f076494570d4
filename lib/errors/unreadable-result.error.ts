import { StreamQueueError } from './stream-queue.error';

/**
 * `result()` or `status()` of a task whose stored result is not one this package writes (not
 * JSON of `{ ok, value | error }`): anyone with Redis access can overwrite it. What the task
 * returned cannot be known from it; nothing was changed.
 * @publicApi
 */
export class UnreadableResultError extends StreamQueueError {
  constructor(readonly taskId: string) {
    super(
      'UNREADABLE_RESULT',
      `The stored result of task ${taskId} cannot be read: it is not a result this package writes (was it overwritten?).`,
    );
  }
}

import { StreamQueueError } from './stream-queue.error';

/**
 * `result()` of a task whose last attempt failed; carries the handler error's name and message
 * (the original object cannot cross processes).
 * @publicApi
 */
export class TaskFailedError extends StreamQueueError {
  constructor(
    readonly taskId: string,
    readonly causeName: string,
    causeMessage: string,
  ) {
    super('TASK_FAILED', causeMessage);
  }
}

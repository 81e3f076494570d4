import { StreamQueueError } from './stream-queue.error';

/** `result()` of a task whose key was cancelled: it will never complete. @publicApi */
export class TaskCancelledError extends StreamQueueError {
  constructor(readonly taskId: string) {
    super('TASK_CANCELLED', `Task ${taskId} was cancelled and will not complete.`);
  }
}

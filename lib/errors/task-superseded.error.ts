import { StreamQueueError } from './stream-queue.error';

/** `result()` of a task that a newer generation of its key replaced: it will never complete. @publicApi */
export class TaskSupersededError extends StreamQueueError {
  constructor(readonly taskId: string) {
    super('TASK_SUPERSEDED', `Task ${taskId} was superseded by a newer run of its key and will not complete.`);
  }
}

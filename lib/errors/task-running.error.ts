import { quotedText } from '../quoted-text';
import { StreamQueueError } from './stream-queue.error';

/**
 * remove() found the task running: a worker holds it, and removal never takes a task from a
 * worker (cancel its key instead, which aborts its signal). Nothing was changed.
 * @publicApi
 */
export class TaskRunningError extends StreamQueueError {
  constructor(
    readonly queue: string,
    readonly taskId: string,
  ) {
    // A task id is anyone's text (a producer chose it): quoted, its controls escaped, never cut.
    super(
      'TASK_RUNNING',
      `Task ${quotedText(taskId, taskId.length)} on queue "${queue}" is running: it cannot be removed; nothing was changed.`,
    );
  }
}

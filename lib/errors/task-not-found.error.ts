import { quotedText } from '../quoted-text';
import { StreamQueueError } from './stream-queue.error';

/**
 * An operator action (remove, redrive, purge) named a task or dead letter that is not there any
 * more: it ran, was removed, was redriven or purged, or never existed. Nothing was changed.
 * @publicApi
 */
export class TaskNotFoundError extends StreamQueueError {
  constructor(
    readonly queue: string,
    readonly ref: string,
    what: string,
  ) {
    // The ref is anyone's text (a task id a producer chose): quoted, its controls escaped, never cut.
    super('TASK_NOT_FOUND', `No ${what} ${quotedText(ref, ref.length)} on queue "${queue}": nothing was changed.`);
  }
}

import { StreamQueueError } from './stream-queue.error';

/**
 * A dead letter that cannot be redriven: it is not a task (a malformed entry kept for reading),
 * or its key moved on to a newer run, which an older run must never follow. It stays in the
 * dead letters; nothing was changed.
 * @publicApi
 */
export class RedriveRefusedError extends StreamQueueError {
  constructor(
    readonly queue: string,
    readonly deadLetterId: string,
    readonly reason: 'not-a-task' | 'key-moved-on',
  ) {
    super(
      'REDRIVE_REFUSED',
      `Dead letter ${deadLetterId} on queue "${queue}" was not redriven: ${
        reason === 'not-a-task'
          ? 'it is not a task (fields missing)'
          : 'its key has a newer run, which an older run must not follow'
      }; nothing was changed.`,
    );
  }
}

import { StreamQueueError } from './stream-queue.error';

/**
 * `result()` called after the application closed, or still waiting when it closed: its
 * connections are gone, so nothing could ever settle it. Also any QueueClient call made after
 * close() (nothing sent), one close cut short between two of its commands, or a command Redis
 * never answered because it was unreachable when the application closed: its message says
 * whether it may have run.
 * @publicApi
 */
export class ApplicationClosedError extends StreamQueueError {
  constructor(message: string) {
    super('APPLICATION_CLOSED', message);
  }
}

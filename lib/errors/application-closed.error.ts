import { StreamQueueError } from './stream-queue.error';

/**
 * `result()` called after the application closed, or still waiting when it closed: its
 * connections are gone, so nothing could ever settle it.
 * @publicApi
 */
export class ApplicationClosedError extends StreamQueueError {
  constructor(message: string) {
    super('APPLICATION_CLOSED', message);
  }
}

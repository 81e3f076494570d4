import { StreamQueueError } from './stream-queue.error';

/** A handler outlived its `timeoutMs`, or `result()` outlived its wait. @publicApi */
export class TaskTimeoutError extends StreamQueueError {
  constructor(message: string) {
    super('TIMEOUT', message);
  }
}

import { StreamQueueError } from './stream-queue.error';

/** Two `@Task()` handlers share one name; both locations are named. @publicApi */
export class DuplicateTaskError extends StreamQueueError {
  constructor(taskName: string, first: string, second: string) {
    super('DUPLICATE_TASK', `Task "${taskName}" is declared twice: ${first} and ${second}.`);
  }
}

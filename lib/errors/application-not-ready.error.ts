import { StreamQueueError } from './stream-queue.error';

/**
 * A QueueClient call that names a task, made before the application's init discovered the
 * `@Task()` handlers (a provider's constructor or async factory, code run between
 * `NestFactory.create()` and `listen()`, or after a failed init): the task's queue and options
 * are not known yet, so nothing is sent. Call it once `app.init()` ran, or from a hook.
 * @publicApi
 */
export class ApplicationNotReadyError extends StreamQueueError {
  constructor(message: string) {
    super('APPLICATION_NOT_READY', message);
  }
}

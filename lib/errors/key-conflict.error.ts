import { StreamQueueError } from './stream-queue.error';

/**
 * A key names one run of one task: `enqueue` or `replace` of task A found a live run of task B
 * under the same key. Nothing was written; use a key that includes the task's name. `schedule()`
 * throws it too when the key's live run is not a schedule's (an enqueued run, or the one-off
 * run of a `replace()` that ended the schedule, of any task): schedule again once it settled.
 * @publicApi
 */
export class KeyConflictError extends StreamQueueError {
  constructor(
    readonly key: string,
    readonly taskName: string,
    readonly liveTaskName: string,
    readonly liveTaskId: string,
  ) {
    super(
      'KEY_CONFLICT',
      `Key "${key}" is held by a live run of task "${liveTaskName}" (${liveTaskId}); task "${taskName}" cannot use it until that run settles.`,
    );
  }
}

import { StreamQueueError } from './stream-queue.error';

/**
 * A dead letter that cannot be redriven: it is not a task a worker takes (a malformed entry kept
 * for reading, one whose id, group or key is longer than an enqueue accepts, whose key is empty,
 * whose id or group is not UTF-8 text, or whose name is not a task name: redrive.lua,
 * includes/task-text.lua, DeadLetters.redrive), or its key moved on to a newer
 * run, which an older run must never follow, or it is an ungrouped task of a task with a group
 * limit in a partition other than the ungrouped group's (spread there before the limit was
 * added), where its runs would be counted apart from the group's. It stays in the dead letters;
 * nothing was changed.
 * @publicApi
 */
export class RedriveRefusedError extends StreamQueueError {
  constructor(
    readonly queue: string,
    readonly deadLetterId: string,
    readonly reason: 'not-a-task' | 'key-moved-on' | 'group-limit-elsewhere',
  ) {
    super(
      'REDRIVE_REFUSED',
      `Dead letter ${deadLetterId} on queue "${queue}" was not redriven: ${
        reason === 'not-a-task'
          ? 'it is not a task a worker takes (a field missing, an empty key, a field longer than an enqueue accepts, not UTF-8 text, or a name no task can have)'
          : reason === 'key-moved-on'
            ? 'its key has a newer run, which an older run must not follow'
            : 'it is ungrouped and its task has a group limit, whose ungrouped runs are counted in another partition (it was dead-lettered before the limit was added): enqueue its payload again'
      }; nothing was changed.`,
    );
  }
}

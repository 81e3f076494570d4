import { StreamQueueError } from './stream-queue.error';

/**
 * A dead letter that cannot be redriven: it is not a task a worker takes (a malformed entry kept
 * for reading, one whose id, group or key is longer than an enqueue accepts, whose key is empty,
 * whose id or group is not UTF-8 text, or whose name is not a task name: redrive.lua,
 * includes/task-text.lua, DeadLetters.redrive), or its key moved on to a newer
 * run, which an older run must never follow, or it is an ungrouped task of a task with a group
 * limit in a partition other than the ungrouped group's (spread there before the limit was
 * added), where its runs would be counted apart from the group's, or its task was cancelled (its
 * key state says so: a `cancel()` or `remove()` ended it, maybe while the dead-lettered run ran),
 * and a cancelled task never runs again, or its task was redriven already from another dead
 * letter of it (a copy) and waits, runs or completed since, and would run twice. It stays in the
 * dead letters; nothing was changed.
 * @publicApi
 */
export class RedriveRefusedError extends StreamQueueError {
  constructor(
    readonly queue: string,
    readonly deadLetterId: string,
    readonly reason: 'not-a-task' | 'key-moved-on' | 'group-limit-elsewhere' | 'cancelled' | 'already-redriven',
  ) {
    super(
      'REDRIVE_REFUSED',
      `Dead letter ${deadLetterId} on queue "${queue}" was not redriven: ${
        reason === 'not-a-task'
          ? 'it is not a task a worker takes (a field missing, an empty key, a field longer than an enqueue accepts, not UTF-8 text, or a name no task can have)'
          : reason === 'key-moved-on'
            ? 'its key has a newer run, which an older run must not follow'
            : reason === 'already-redriven'
              ? 'its task was redriven already (from another dead letter of it) or is retried, and waits, runs or completed since: redriven again it would run twice'
              : reason === 'cancelled'
                ? 'its task was cancelled (its key state says so), and a cancelled task never runs again: enqueue its payload again to run it'
                : 'it is ungrouped and its task has a group limit, whose ungrouped runs are counted in another partition (it was dead-lettered before the limit was added): enqueue its payload again'
      }; nothing was changed.`,
    );
  }
}

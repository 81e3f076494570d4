import { StreamQueueError } from './stream-queue.error';

/**
 * A pause() or resume() that did not take effect on every partition of its queue: a partition's
 * pause record kept a newer version that no later call wrote ('newer-record': written outside
 * pause() and resume() while the call ran, such as a failover putting back an older copy of a
 * node, on each of its attempts; the queue may be left in either state, so call it again), or
 * holds the largest version a record can ('no-version-left': 2^53-1, which only a hand-written
 * record reaches; nothing was written: delete that record and call again).
 * @publicApi
 */
export class PauseRefusedError extends StreamQueueError {
  constructor(
    readonly queue: string,
    readonly call: 'pause()' | 'resume()',
    /** The partition whose record refused the call. */
    readonly partition: number,
    /** The version that partition's record holds. */
    readonly version: number,
    readonly reason: 'newer-record' | 'no-version-left',
  ) {
    super(
      'PAUSE_REFUSED',
      reason === 'newer-record'
        ? `${call} of queue "${queue}" did not take effect on partition ${partition}: its pause record kept ` +
            `version ${version}, newer than the call's, which no later call wrote (a record written outside ` +
            `pause() and resume()); the queue may be in either state: call ${call} again.`
        : `${call} of queue "${queue}" was not written: partition ${partition}'s pause record holds version ` +
            `${version}, above which no version is left; nothing was written. Delete that record (its ` +
            `':pause' key) and call ${call} again.`,
    );
  }
}

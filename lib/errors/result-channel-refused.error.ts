import { StreamQueueError } from './stream-queue.error';

/**
 * result() cannot hear its task settle: Redis refused the SUBSCRIBE to the queue's done channel
 * (an ACL that does not grant the channel to the client's user, at the wait's start or after an
 * ACL change dropped the subscriber). The task's state was read once and it had not settled. The
 * task itself is unaffected; its state can still be read (inspect()). Redis's refusal is `cause`.
 * @publicApi
 */
export class ResultChannelRefusedError extends StreamQueueError {
  constructor(
    readonly taskId: string,
    readonly channel: string,
    refusal: Error,
  ) {
    super(
      'RESULT_CHANNEL_REFUSED',
      `Cannot wait for the result of task ${taskId}: Redis refused the SUBSCRIBE to its done channel ` +
        `${channel} (${refusal.message}). Grant the channel to the client's ACL user.`,
      { cause: refusal },
    );
  }
}

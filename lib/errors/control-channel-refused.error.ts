import { StreamQueueError } from './stream-queue.error';

/**
 * A worker cannot boot: Redis refused the SUBSCRIBE to a queue's control channel (its ACL user is
 * not granted the channel, or the SUBSCRIBE command). Through that channel a worker hears
 * cancel(), replace(), pause() and resume(), due delayed tasks and events() watchers: booted
 * deaf to them, it would run cancelled and superseded tasks to their end and ignore a pause.
 * `channels` are those refused (each was asked alone); Redis's refusal of the first is `cause`.
 * @publicApi
 */
export class ControlChannelRefusedError extends StreamQueueError {
  constructor(
    readonly channels: readonly string[],
    message: string,
    refusal: Error,
  ) {
    super('CONTROL_CHANNEL_REFUSED', message, { cause: refusal });
  }
}

import { StreamQueueError } from './stream-queue.error';

/**
 * A payload cannot be encoded as JSON, or its encoding exceeds `maxPayloadBytes`. When encoding
 * threw (a BigInt, a cycle, a toJSON or getter that throws), what it threw is the `cause`.
 * @publicApi
 */
export class PayloadError extends StreamQueueError {
  readonly #reason: string;

  constructor(
    readonly taskName: string,
    reason: string,
    /** Which enqueueMany() item it is (`items[3]`), named in the message. */
    item?: string,
    options?: ErrorOptions,
  ) {
    super('INVALID_PAYLOAD', `Payload of task "${taskName}"${item ? ` (${item})` : ''} rejected: ${reason}.`, options);
    this.#reason = reason;
  }

  /** @internal The same refusal, naming the enqueueMany() item it is (`items[3]`). */
  at(item: string): PayloadError {
    // `in`, not `!== undefined`: a payload's getter may throw undefined, which is still what it threw.
    return new PayloadError(this.taskName, this.#reason, item, 'cause' in this ? { cause: this.cause } : undefined);
  }
}

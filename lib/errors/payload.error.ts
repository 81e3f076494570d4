import { StreamQueueError } from './stream-queue.error';

/** A payload cannot be encoded as JSON, or its encoding exceeds `maxPayloadBytes`. @publicApi */
export class PayloadError extends StreamQueueError {
  readonly #reason: string;

  constructor(
    readonly taskName: string,
    reason: string,
    /** Which enqueueMany() item it is (`items[3]`), named in the message. */
    item?: string,
  ) {
    super('INVALID_PAYLOAD', `Payload of task "${taskName}"${item ? ` (${item})` : ''} rejected: ${reason}.`);
    this.#reason = reason;
  }

  /** @internal The same refusal, naming the enqueueMany() item it is (`items[3]`). */
  at(item: string): PayloadError {
    return new PayloadError(this.taskName, this.#reason, item);
  }
}

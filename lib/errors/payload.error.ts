import { StreamQueueError } from './stream-queue.error';

/** A payload cannot be encoded as JSON, or its encoding exceeds `maxPayloadBytes`. @publicApi */
export class PayloadError extends StreamQueueError {
  constructor(
    readonly taskName: string,
    reason: string,
  ) {
    super('INVALID_PAYLOAD', `Payload of task "${taskName}" rejected: ${reason}.`);
  }
}

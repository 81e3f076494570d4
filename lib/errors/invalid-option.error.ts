import { quotedText } from '../quoted-text';
import { StreamQueueError } from './stream-queue.error';

/** A module, task or enqueue option has a value outside what it accepts. @publicApi */
export class InvalidOptionError extends StreamQueueError {
  constructor(
    readonly option: string,
    expected: string,
    received: unknown,
  ) {
    super('INVALID_OPTION', `Invalid option "${option}": expected ${expected}, received ${describe(received)}.`);
  }
}

/** A received value as the message quotes it: a text may be anyone's (see quotedText). */
function describe(value: unknown): string {
  if (typeof value === 'string') return quotedText(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

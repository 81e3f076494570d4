import { quotedText } from '../quoted-text';
import { StreamQueueError } from './stream-queue.error';

/** A module, task or enqueue option has a value outside what it accepts. @publicApi */
export class InvalidOptionError extends StreamQueueError {
  /** Kept to name the option again under a path (see at); private, so never logged raw. */
  readonly #refusal: { readonly expected: string; readonly received: unknown };

  constructor(
    readonly option: string,
    expected: string,
    received: unknown,
  ) {
    super('INVALID_OPTION', `Invalid option "${option}": expected ${expected}, received ${describe(received)}.`);
    this.#refusal = { expected, received };
  }

  /** @internal The same refusal, of the option at `path` (an enqueueMany() item's: `items[3].options.delayMs`). */
  at(path: string): InvalidOptionError {
    return new InvalidOptionError(path, this.#refusal.expected, this.#refusal.received);
  }
}

/** A received value as the message quotes it: a text may be anyone's (see quotedText). */
function describe(value: unknown): string {
  if (typeof value === 'string') return quotedText(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

import { headOf } from '../task/cut-text';
import { RAW_IN_JSON, unicodeEscaped } from '../terminal-unsafe';
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

/**
 * A received value as the message quotes it. A text may be anyone's (a group or key from a
 * request) and the message is logged: its first 40 characters (never half a surrogate pair), as
 * JSON with what a terminal must not get raw escaped as JSON.stringify escapes the C0 controls.
 */
function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${headOf(value, 40)}…` : value).replace(RAW_IN_JSON, unicodeEscaped);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

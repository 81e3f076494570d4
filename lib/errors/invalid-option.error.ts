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

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

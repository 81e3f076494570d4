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
    options?: ErrorOptions,
  ) {
    super(
      'INVALID_OPTION',
      `Invalid option "${option}": expected ${expected}, received ${describe(received)}.`,
      options,
    );
    this.#refusal = { expected, received };
  }

  /**
   * @internal The option's getter threw: the refusal names the option, the getter's error is
   * the cause (its message stays out of this one, which is logged: it may quote a secret).
   */
  static unreadable(option: string, cause: unknown): InvalidOptionError {
    return new InvalidOptionError(option, 'a value that can be read', GETTER_THREW, { cause });
  }

  /**
   * @internal Reading a Date option's time threw: its getTime() is the caller's code (a
   * subclass's override), or no Date's (a Date-like object, a Proxy of a Date). The error is
   * the cause, as for a getter (see unreadable).
   */
  static timeUnreadable(option: string, expected: string, cause: unknown): InvalidOptionError {
    return new InvalidOptionError(option, expected, GET_TIME_THREW, { cause });
  }

  /** @internal The same refusal, of the option at `path` (an enqueueMany() item's: `items[3].options.delayMs`). */
  at(path: string): InvalidOptionError {
    // `in`, not `!== undefined`: a getter may throw undefined, which is still what it threw.
    return new InvalidOptionError(
      path,
      this.#refusal.expected,
      this.#refusal.received,
      'cause' in this ? { cause: this.cause } : undefined,
    );
  }
}

/** What an unreadable option received, as describe() words it. */
const GETTER_THREW = Symbol('a getter that threw');
/** What a Date option whose time could not be read received, as describe() words it. */
const GET_TIME_THREW = Symbol('a Date whose getTime() threw');

/** A received value as the message quotes it: a text may be anyone's (see quotedText). */
function describe(value: unknown): string {
  if (value === GETTER_THREW) return 'a getter that threw (its error is the cause)';
  if (value === GET_TIME_THREW) return 'a Date whose getTime() threw (its error is the cause)';
  if (typeof value === 'string') return quotedText(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

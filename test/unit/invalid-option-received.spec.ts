import { InvalidOptionError } from '../../lib';
import { isWellFormedText } from '../../lib/client/well-formed-text';

/**
 * InvalidOptionError quotes a received text's first 40 characters, as JSON: an app's user can
 * write that text (a group, a key taken from a request), and the message is logged. The cut kept
 * 40 UTF-16 units, so a group of 39 "g", U+1F600 and 300 more "g" was quoted with the emoji's first
 * half alone (JSON wrote it `\ud83d`); and JSON.stringify writes the C1 controls and the invisible
 * format characters raw, so a U+202E (right-to-left override) or CSI U+009B in the first 40
 * characters reached the log as it was. The quote now keeps a pair whole or leaves it out, and
 * escapes what a terminal must not get raw (as the CLI's --json does). A review finding; the test
 * failed.
 */
describe('attack: the received text an InvalidOptionError quotes', () => {
  it('is never cut inside a surrogate pair', () => {
    const { message } = new InvalidOptionError(
      'group',
      'a short group',
      `${'g'.repeat(39)}\u{1F600}${'g'.repeat(300)}`,
    );
    expect(message).toBe(`Invalid option "group": expected a short group, received "${'g'.repeat(39)}…".`);
  });

  it('writes no character a terminal must not get raw, and still reads back as the text', () => {
    const text = 'admin\u202eredaer\u009b31m\u2066x\u2069';
    const { message } = new InvalidOptionError('key', 'a short key', text);
    expect(message).toBe(
      'Invalid option "key": expected a short key, received "admin\\u202eredaer\\u009b31m\\u2066x\\u2069".',
    );
    expect([JSON.parse(message.slice(message.indexOf('received ') + 9, -1)), isWellFormedText(message)]).toEqual([
      text,
      true,
    ]);
  });
});

/**
 * The kind of a received value that is no text, number or boolean, with its article: the message
 * said "received a object" for any object (a Date, a class instance, a plain one), read in logs.
 */
describe('InvalidOptionError: the kind of a received value', () => {
  it.each([
    [{}, 'an object'],
    [new Date(0), 'an object'],
    [() => 1, 'a function'],
    [Symbol('s'), 'a symbol'],
    [10n, 'a bigint'],
    [[1], 'an array'],
  ])('%p is %s', (value, kind) => {
    expect(new InvalidOptionError('opt', 'a number', value).message).toBe(
      `Invalid option "opt": expected a number, received ${kind}.`,
    );
  });
});

/** at() names the option under a path and keeps the cause, whatever was thrown: undefined too. */
describe('InvalidOptionError.at: the cause', () => {
  it('keeps a cause that is undefined (a getter may throw undefined)', () => {
    const refused = InvalidOptionError.unreadable('delayMs', undefined);
    const moved = refused.at('items[2].options.delayMs');
    expect(moved.option).toBe('items[2].options.delayMs');
    expect('cause' in moved).toBe(true);
    expect(moved.cause).toBeUndefined();
  });

  it('adds no cause where there was none', () => {
    expect('cause' in new InvalidOptionError('opt', 'a number', 'x').at('items[0].opt')).toBe(false);
  });
});

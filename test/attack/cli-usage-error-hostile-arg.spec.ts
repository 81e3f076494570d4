import { parseArgs, UsageError } from '../../lib/cli/cli-args';
import { TERMINAL_UNSAFE } from '../../lib/terminal-unsafe';

const refusal = (argv: string[]): string => {
  try {
    parseArgs(argv, {});
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  throw new Error(`accepted: ${JSON.stringify(argv)}`);
};

/**
 * A task id is anyone's text, and an operator passes it on from a listing with its JSON escapes
 * undone (`jq -r .tasks[].id`): `remove` quotes it with its controls escaped. A command line the
 * CLI refused echoed such an argument raw on stderr instead: a task id beginning with "-" given
 * without `--` ("unknown option ..."), or given to `dlq purge` in place of a dead-letter id ("not
 * a dead-letter id ..."), sent its escape sequences (here OSC 52, which writes the clipboard) and
 * its bidirectional override to the operator's terminal. Every echoed argument now has each such
 * character escaped as \uXXXX (a review finding; every case failed).
 */
describe('attack: a refused command line echoing a hostile argument', () => {
  const base = ['--url', 'redis://127.0.0.1:6379', '--prefix', 'sq'];
  const hostile = '-t1\u001b]52;c;cm0gLXJmIH4=\u0007\u202egnp.exe';

  it.each([
    ['a task id taken for an option', ['remove', hostile, ...base], 'unknown option -t1\\u001b]52'],
    [
      'a task id given as a dead-letter id',
      ['dlq', 'purge', ...base, '--', hostile],
      'not a dead-letter id: "-t1\\u001b',
    ],
    ['an id given to a command that takes none', ['inspect', ...base, '--', hostile], 'takes no ids (got "-t1\\u001b'],
    ['an unknown command', ['--', hostile, ...base], 'unknown command "-t1\\u001b'],
    ['an unknown dlq subcommand', ['dlq', ...base, '--', hostile], '(got "-t1\\u001b'],
  ])('%s: names it with every unsafe character escaped', (_case, argv, named) => {
    const message = refusal(argv);
    expect(message).toContain(named);
    expect(message).toContain('\\u202e');
    expect(message.match(TERMINAL_UNSAFE)).toBeNull();
  });
});

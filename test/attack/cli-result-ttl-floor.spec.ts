import { parseArgs, UsageError } from '../../lib/cli/cli-args';

const parsed = (argv: string[]) => {
  try {
    return parseArgs(argv, {});
  } catch (error) {
    return error instanceof UsageError ? `usage: ${error.message}` : String(error);
  }
};

/**
 * Attack on the CLI's `--result-ttl-ms`, which stands for the app's resultTtlMs (the CLI has no
 * app to read it from). An app's is 0 or at least 1000 since 170aa13 (a shorter one expires
 * before a waiter reads it); the CLI still took 1 to 999, a value no app has, and kept what its
 * changes leave (a removed task's cancelled record, each call's answer for a resend) that long:
 * a result() asked just after `remove` found nothing and read the gone entry as completed, and a
 * resent `dlq redrive` found no answer recorded. Refused now, as the module refuses it.
 */
describe('attack: CLI --result-ttl-ms between 1 and 999', () => {
  const base = ['--url', 'redis://h'];

  it.each(['1', '5', '999'])('refuses %s, naming the floor', (ttl) => {
    for (const command of [
      ['remove', 't'],
      ['dlq', 'redrive', '--all'],
      ['dlq', 'purge', '--all'],
    ]) {
      expect(parsed([...command, ...base, '--result-ttl-ms', ttl])).toBe(
        `usage: --result-ttl-ms: 0 (keep nothing) or an integer from 1000 to ${Number.MAX_SAFE_INTEGER}, as the app's resultTtlMs (got "${ttl}")`,
      );
    }
  });

  it('takes 0 and 1000', () => {
    expect(parsed(['remove', 't', ...base, '--result-ttl-ms', '0'])).toMatchObject({ resultTtlMs: 0 });
    expect(parsed(['remove', 't', ...base, '--result-ttl-ms', '1000'])).toMatchObject({ resultTtlMs: 1000 });
  });
});

import { parseArgs, UsageError } from '../../lib/cli/cli-args';
import { EXIT } from '../../lib/cli/cli-commands';
import { cliQueueForSuite } from '../fixtures/cli-queue';
import { runCliInProcess } from '../utils/cli-in-process';
import { redisUrl } from '../utils/redis';

const parsed = (argv: string[]) => {
  try {
    return parseArgs(argv, {});
  } catch (error) {
    return error instanceof UsageError ? `usage: ${error.message}` : String(error);
  }
};

/**
 * Two operator slips the CLI let through (a review finding):
 * - a flag with a value given twice took the last one in silence: `--queue payroll ... --queue
 *   default` (a line edited from history) or two `--url`s acted on a queue, or a Redis, the
 *   operator may not have meant. It is refused, naming the flag, before Redis is read;
 * - a task id or dead-letter id beginning with '-' (any producer may choose such a task id) could
 *   not be named at all: it read as an unknown option. `--` ends the options, as in POSIX tools.
 */
describe('attack: a flag given twice, and ids that begin with a dash', () => {
  const q = cliQueueForSuite(async (redis, keys) => {
    await redis.xadd(keys.stream, '*', 'id', '-rm-rf', 'n', 'job', 'p', '{}', 'a', '1');
  });
  const base = () => ['--url', redisUrl(), '--prefix', q.prefix];

  it('refuses a flag with a value given twice, naming it', () => {
    expect(parsed(['inspect', '--queue', 'payroll', ...base(), '--queue', 'default'])).toBe(
      'usage: --queue given twice: give it once',
    );
    // Not echoed: a URL may carry a password.
    expect(parsed(['inspect', ...base(), '--url=redis://:secret@10.0.0.9:6379'])).toBe(
      'usage: --url given twice: give it once',
    );
    // A boolean flag twice says the same thing twice: kept.
    expect(parsed(['dlq', 'purge', '--all', '--all', '--yes', ...base()])).toMatchObject({ all: true });
  });

  it('takes ids after --, even one that begins with a dash', () => {
    expect(parsed(['remove', ...base(), '--', '-rm-rf'])).toMatchObject({ command: 'remove', ids: ['-rm-rf'] });
    expect(parsed(['remove', ...base(), '--', '--yes'])).toMatchObject({ ids: ['--yes'], yes: false });
    expect(parsed(['remove', '-rm-rf', ...base()])).toBe('usage: unknown option -rm-rf');
  });

  it('removes the task whose id begins with a dash', async () => {
    const { code, out } = await runCliInProcess(q.redis, ['remove', ...base(), '--yes', '--', '-rm-rf'], false);
    expect({ code, out }).toEqual({ code: EXIT.ok, out: 'Removed task "-rm-rf".\n' });
  });
});

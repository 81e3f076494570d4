import { parseArgs, UsageError } from '../../lib/cli/cli-args';
import { EXIT } from '../../lib/cli/cli-commands';
import { cliQueueForSuite } from '../fixtures/cli-queue';
import { runCliInProcess } from '../utils/cli-in-process';
import { redisUrl } from '../utils/redis';

/**
 * --limit and --cursor page `dlq list`; every other command took them and acted as if they were
 * not there (a review finding): `dlq purge --all --limit 2 --yes` purged every dead letter, not
 * two, and `dlq redrive --all --cursor <c>` redrove those before the cursor too. A flag that
 * reads as a bound of a change must be refused, as --partition is beside the commands it does
 * not go with.
 */
describe('attack: paging flags beside a command that does not page', () => {
  const q = cliQueueForSuite(async (redis, keys) => {
    for (let i = 0; i < 5; i++) await redis.xadd(keys.deadLetter, '*', 'raw', 'x', 'reason', `r${i}`);
  });
  const base = () => ['--url', redisUrl(), '--prefix', q.prefix];

  it('refuses --limit and --cursor on every command but dlq list, before Redis is read', () => {
    const lines = [
      ['dlq', 'purge', '--all', '--limit', '2'],
      ['dlq', 'redrive', '--all', '--limit', '2'],
      ['dlq', 'purge', '1-1', '--cursor', '1-0'],
      ['dlq', 'redrive', '--all', '--cursor', '1-0'],
      ['remove', 't', '--limit', '2'],
      ['inspect', '--cursor', '1-0'],
      ['inspect', '--limit', '2'],
    ];
    const refused = lines.map((argv) => {
      try {
        parseArgs([...argv, ...base()], {});
        return 'accepted';
      } catch (error) {
        return error instanceof UsageError ? error.message : String(error);
      }
    });
    expect(refused).toEqual(lines.map(() => expect.stringMatching(/^--(limit|cursor) goes with dlq list/)));
    // dlq list keeps them.
    expect(parseArgs(['dlq', 'list', '--limit', '2', '--cursor', '1-0', ...base()], {})).toMatchObject({
      limit: 2,
      cursor: '1-0',
    });
  });

  it('dlq purge --all --limit 2 --yes purges nothing (it purged all five)', async () => {
    let code: number;
    try {
      code = (await runCliInProcess(q.redis, ['dlq', 'purge', '--all', '--limit', '2', '--yes', ...base()], true)).code;
    } catch (error) {
      code = error instanceof UsageError ? EXIT.usage : EXIT.failed;
    }
    expect({ code, left: await q.redis.xlen(q.keys.deadLetter) }).toEqual({ code: EXIT.usage, left: 5 });
  });
});

import { EXIT } from '../../lib/cli/cli-commands';
import { defineScripts } from '../../lib/redis/scripts';
import { runCliInProcess } from '../utils/cli-in-process';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, redisUrl } from '../utils/redis';

/**
 * README: "Tables by default, `--json` for scripts." A command that failed with --json printed
 * nothing on stdout (its message went to stderr alone): a script parsing stdout met empty text,
 * not the reason (found by the operator review: `remove` and `dlq list` failed here). It now
 * prints one JSON object, { error: <code>, message }, as the per-id outcomes of `dlq redrive`
 * and `dlq purge` do, beside the same exit code and stderr line.
 */
describe('CLI --json when the command fails', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  defineScripts(redis);
  const cli = (...argv: string[]) =>
    runCliInProcess(redis, [...argv, '--url', redisUrl(), '--prefix', prefix, '--yes', '--json'], true);

  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it('remove of a task that is not there prints its error as JSON', async () => {
    const result = await cli('remove', 'no-such-task');
    expect(result.code).toBe(EXIT.failed);
    expect(JSON.parse(result.out)).toEqual({
      error: 'TASK_NOT_FOUND',
      message: expect.stringContaining('no-such-task'),
    });
    expect(result.err).toContain('no-such-task');
  });

  it('dlq list with a cursor that is not one prints its error as JSON', async () => {
    const result = await cli('dlq', 'list', '--cursor', 'not-a-cursor');
    expect(result.code).toBe(EXIT.usage);
    expect(JSON.parse(result.out)).toEqual({ error: 'INVALID_OPTION', message: expect.stringContaining('cursor') });
  });

  it('without --json, stdout stays empty', async () => {
    const result = await runCliInProcess(
      redis,
      ['remove', 'gone', '--url', redisUrl(), '--prefix', prefix, '--yes'],
      true,
    );
    expect(result).toMatchObject({ code: EXIT.failed, out: '' });
  });
});

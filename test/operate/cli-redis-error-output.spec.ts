import { parseArgs } from '../../lib/cli/cli-args';
import { runCommand } from '../../lib/cli/cli-commands';
import { QueueKeys } from '../../lib/redis/keys';
import { defineScripts } from '../../lib/redis/scripts';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, redisUrl } from '../utils/redis';

/**
 * README (CLI): with --json "any other command that fails ... prints { error, message } beside its
 * stderr line". Found by the newest-code review: a command that an error of Redis itself stopped
 * (out of memory, a WRONGTYPE, no answer) printed nothing on stdout, whatever --json said, and
 * `dlq redrive --all` said nothing of the dead letters it had redriven before the error: a script
 * (or an operator) could not tell that anything had changed, and a second run is no repeat (a
 * redriven task runs again if it fails again).
 */
describe('CLI output when Redis fails the command', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  defineScripts(redis);
  const keys = new QueueKeys(prefix, 'default');

  /** Runs a command line through runCommand; what it printed, and what it threw (to main). */
  const run = async (...argv: string[]) => {
    let out = '';
    const io = { out: (text: string) => (out += `${text}\n`), err: () => undefined, confirm: async () => true };
    const thrown = await runCommand(
      redis,
      parseArgs([...argv, '--url', redisUrl(), '--prefix', prefix, '--yes'], {}),
      io,
    ).then(
      () => undefined,
      (error: Error) => error,
    );
    return { out, thrown };
  };
  /** A plain dead letter, then a keyed one whose redrive draws a generation from the sequence. */
  const plainThenKeyed = async () => {
    await redis.xadd(keys.deadLetter, '*', 'id', 't-plain', 'n', 'echo', 'p', '"x"', 'a', '1', 'reason', 'r');
    const keyed = ['id', 't-keyed', 'n', 'echo', 'p', '"x"', 'a', '1', 'k', 'k-1', 'g', '1', 'reason', 'r'];
    await redis.xadd(keys.deadLetter, '*', ...keyed);
    // A sequence of another type: the keyed redrive fails with WRONGTYPE, as Redis out of memory would.
    await redis.hset(keys.seq, 'not', 'a counter');
  };

  beforeEach(() => cleanupPrefix(redis, prefix));
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it('dlq redrive --all --json: a Redis error still prints how many were redriven before it', async () => {
    await plainThenKeyed();
    const { out, thrown } = await run('dlq', 'redrive', '--all', '--json');
    expect(thrown?.message).toContain('WRONGTYPE');
    expect(await redis.xlen(keys.stream)).toBe(1); // the plain one was redriven
    expect(JSON.parse(out)).toEqual({
      redriven: 1,
      refused: [],
      error: 'REDIS_ERROR',
      message: expect.stringContaining('WRONGTYPE'),
    });
  });

  it('dlq redrive --all (text): a Redis error still says how many were redriven before it', async () => {
    await plainThenKeyed();
    const { out, thrown } = await run('dlq', 'redrive', '--all');
    expect(thrown?.message).toContain('WRONGTYPE');
    expect(out).toBe('Redrove 1 dead letter(s) before Redis failed.\n');
  });

  it('dlq purge --all --json: a Redis error prints it as JSON', async () => {
    await redis.set(keys.deadLetter, 'not a stream');
    const { out, thrown } = await run('dlq', 'purge', '--all', '--json');
    expect(thrown?.message).toContain('WRONGTYPE');
    expect(JSON.parse(out)).toEqual({ error: 'REDIS_ERROR', message: expect.stringContaining('WRONGTYPE') });
  });

  it('dlq list --json: a Redis error prints it as JSON', async () => {
    await redis.set(keys.deadLetter, 'not a stream');
    const { out, thrown } = await run('dlq', 'list', '--json');
    expect(thrown).toBeInstanceOf(Error);
    expect(JSON.parse(out)).toEqual({ error: 'REDIS_ERROR', message: thrown!.message });
  });

  it('without --json, stdout stays empty on a Redis error (the error goes to main, then stderr)', async () => {
    await redis.set(keys.deadLetter, 'not a stream');
    const { out, thrown } = await run('dlq', 'purge', '--all');
    expect(thrown?.message).toContain('WRONGTYPE');
    expect(out).toBe('');
  });
});

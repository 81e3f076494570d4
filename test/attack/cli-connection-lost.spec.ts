import { EXIT } from '../../lib/cli/cli-commands';
import { loadLuaSource } from '../../lib/redis/lua-source';
import { defineScripts, type ScriptName } from '../../lib/redis/scripts';
import { RemovalTasksModule } from '../fixtures/removal-tasks';
import { producerAppForSuite } from '../fixtures/test-app';
import { spawnCli } from '../utils/cli-bin';
import { HalfOpenProxy } from '../utils/half-open-proxy';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * Review: a repair command (dlq redrive, dlq purge, remove) whose connection dropped after Redis
 * ran its script, before the answer came back, printed only ioredis's "Connection is closed.":
 * the operator read a plain failure and could not tell that the change may have been made, as
 * the CLI says when an answer does not come within --timeout (cli-unanswering-redis.spec.ts).
 * It now says so, and how to look, on stderr; --json marks the failure `mayHaveBeenDone`.
 * The proxy lets the script reach Redis, then closes the connection once Redis answers it: the
 * change was made every time here, and the CLI cannot know it.
 */
describe('attack: the CLI loses its connection during a repair', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  defineScripts(redis);
  const t = producerAppForSuite(prefix, redis, [RemovalTasksModule]);
  let proxy: HalfOpenProxy;

  beforeEach(async () => {
    proxy = new HalfOpenProxy();
    await proxy.start();
  });
  afterEach(() => proxy.stop());

  /** What the CLI's call of `script` carries: on a new connection ioredis sends its source (EVAL). */
  const opening = (script: ScriptName): string => loadLuaSource(script).slice(0, 80);
  /** `argv` through the proxy, its connection closed once Redis answers `script`. */
  const cutAfter = async (script: ScriptName, ...argv: string[]) => {
    proxy.closeOnReplyToCommandWith(opening(script));
    const url = `redis://127.0.0.1:${await proxy.start()}`;
    return spawnCli(...argv, '--url', url, '--prefix', prefix, '--yes');
  };
  const deadLetter = async () =>
    (await redis.xadd(t.keys.deadLetter, '*', 'id', `t-${randomPrefix()}`, 'n', 'echo', 'p', '"x"', 'reason', 'r'))!;
  const warning =
    /the connection to Redis at redis:\/\/127\.0\.0\.1:\d+ closed before the answer \(Connection is closed\.\): what was sent may have been done \(look before trying again: /;

  it('dlq redrive <id>: says the redrive may have been done, and how to look', async () => {
    const id = await deadLetter();
    const result = await cutAfter('redrive', 'dlq', 'redrive', id);
    expect(await redis.xlen(t.keys.deadLetter)).toBe(0); // it was redriven
    expect(result.code).toBe(EXIT.failed);
    expect(result.err).toMatch(warning);
    expect(result.err).toMatch(/`dlq list` shows the dead letters still there\)\n$/);
  }, 30_000);

  it('dlq redrive <id> --json: the id is marked mayHaveBeenDone, and stderr warns', async () => {
    const id = await deadLetter();
    const result = await cutAfter('redrive', 'dlq', 'redrive', id, '--json');
    expect(result.code).toBe(EXIT.failed);
    expect(JSON.parse(result.out)).toEqual([
      { deadLetterId: id, error: 'REDIS_ERROR', message: 'Connection is closed.', mayHaveBeenDone: true },
    ]);
    expect(result.err).toMatch(warning);
  }, 30_000);

  it('dlq purge --all --json: marked mayHaveBeenDone, and stderr warns', async () => {
    await deadLetter();
    const result = await cutAfter('purge-dead-letters', 'dlq', 'purge', '--all', '--json');
    expect(await redis.xlen(t.keys.deadLetter)).toBe(0); // it was purged
    expect(result.code).toBe(EXIT.failed);
    expect(JSON.parse(result.out)).toEqual({
      error: 'REDIS_ERROR',
      message: 'Connection is closed.',
      mayHaveBeenDone: true,
    });
    expect(result.err).toMatch(warning);
  }, 30_000);

  it('remove: says the removal may have been done, and how to look', async () => {
    const handle = await t.client.enqueue('echo', 'to remove', { delayMs: 60_000 });
    const result = await cutAfter('remove-task', 'remove', handle.id);
    expect(await redis.zcard(t.keys.delayed)).toBe(0); // it was removed
    expect(result.code).toBe(EXIT.failed);
    expect(result.err).toMatch(warning);
    expect(result.err).toMatch(
      /`remove` again removes the task if it is still there, else answers TASK_NOT_FOUND\)\n$/,
    );
  }, 30_000);
});

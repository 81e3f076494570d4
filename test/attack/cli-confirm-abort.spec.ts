import { PassThrough } from 'node:stream';
import { parseArgs } from '../../lib/cli/cli-args';
import { EXIT, runCommand, type CliIo } from '../../lib/cli/cli-commands';
import { confirmOnTerminal } from '../../lib/cli/terminal-confirm';
import { QueueKeys } from '../../lib/redis/keys';
import { defineScripts } from '../../lib/redis/scripts';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, redisUrl } from '../utils/redis';

/**
 * Ctrl+D or Ctrl+C at the CLI's question is a no: nothing changes. The question's promise
 * rejected ("Aborted with Ctrl+D"), so the CLI exited 1, as if a change had failed, without
 * saying that nothing was changed; now it is "not confirmed", exit 3 (a review finding; it failed).
 */
describe("attack: Ctrl+D and Ctrl+C at the CLI's question", () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  defineScripts(redis);
  const keys = new QueueKeys(prefix, 'default');

  beforeAll(() => cleanupPrefix(redis, prefix));
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  /** A terminal that types `keys` once the question is asked. */
  function terminal(keys: string): { input: PassThrough & { isTTY: boolean }; output: PassThrough } {
    const input = Object.assign(new PassThrough(), { isTTY: true });
    const output = Object.assign(new PassThrough(), { isTTY: true });
    output.on('data', (text: Buffer) => {
      if (text.toString().includes('[y/N]')) setImmediate(() => input.write(keys));
    });
    return { input, output };
  }

  it.each([
    ['Ctrl+D', EXIT.notConfirmed, 1, '\x04'],
    ['Ctrl+C', EXIT.notConfirmed, 1, '\x03'],
    ['n', EXIT.notConfirmed, 1, 'n\r'],
    ['y', EXIT.ok, 0, 'y\r'],
  ])('%s: exit %s, %s dead letter(s) left', async (_, code, left, typed) => {
    await redis.del(keys.deadLetter);
    await redis.xadd(keys.deadLetter, '*', 'id', 't', 'n', 'echo', 'p', '1', 'a', '1', 'reason', 'r');
    const { input, output } = terminal(typed);
    let err = '';
    const io: CliIo = {
      out: () => undefined,
      err: (text) => (err += text),
      confirm: (question) => confirmOnTerminal(question, input, output),
    };
    const args = parseArgs(['dlq', 'purge', '--all', '--url', redisUrl(), '--prefix', prefix], {});
    expect(await runCommand(redis, args, io)).toBe(code);
    if (code === EXIT.notConfirmed) expect(err).toMatch(/nothing was changed/);
    expect(await redis.xlen(keys.deadLetter)).toBe(left);
  });
});

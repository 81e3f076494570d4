import { EXIT } from '../../lib/cli/cli-commands';
import { spawnCli } from '../utils/cli-bin';
import { createRedis, closeAll } from '../utils/redis';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';

/**
 * A Redis that takes the connection but does not answer (a frozen server, whose kernel still
 * accepts connections; one stalled by a long command) left the CLI waiting forever, printing
 * nothing: the operator could not tell a slow command from a dead one. The CLI now gives up after
 * --timeout (default 10 s), exit 1, saying so, and that a change it sent may have been made (a
 * review finding; both tests failed).
 */
describe('attack: the CLI against a Redis that does not answer', () => {
  let server: RedisServerHandle;

  beforeEach(async () => {
    server = await startRedisServer();
  });
  afterEach(async () => {
    await server.kill('SIGCONT');
    await server.stop();
    await closeAll();
  });

  it('a frozen server: exit 1 after the default 10 s, naming the wait', async () => {
    await server.kill('SIGSTOP');
    const began = Date.now();
    const result = await spawnCli('inspect', '--url', server.url, '--prefix', 'x');
    expect(Date.now() - began).toBeLessThan(20_000);
    expect(result.code).toBe(EXIT.failed);
    expect(result.err).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+: no answer within 10000 ms/);
  }, 30_000);

  it('a command that gets no answer: exit 1 after --timeout, saying the change may have been made', async () => {
    const direct = createRedis({}, server.url);
    await direct.xadd('{x:default}:dlq', '*', 'id', 't', 'reason', 'r');
    // PING and reads go on; every script waits.
    await direct.client('PAUSE', 20_000, 'WRITE');
    const began = Date.now();
    const result = await spawnCli(
      'dlq',
      'purge',
      '--all',
      '--yes',
      '--url',
      server.url,
      '--prefix',
      'x',
      '--timeout',
      '1000',
      '--json',
    );
    expect(Date.now() - began).toBeLessThan(10_000);
    expect(result.code).toBe(EXIT.failed);
    expect(result.err).toMatch(
      /Redis at redis:\/\/127\.0\.0\.1:\d+ gave no answer within 1000 ms: what was sent may have been done \(look before trying again: `dlq list` shows the dead letters still there\)/,
    );
    // A script reading stdout is told as well.
    expect(JSON.parse(result.out)).toEqual({
      error: 'REDIS_ERROR',
      message: 'Command timed out',
      mayHaveBeenDone: true,
    });
    await direct.client('UNPAUSE');
  }, 30_000);

  it('--timeout takes an integer of ms', () =>
    expect(spawnCli('inspect', '--url', 'redis://127.0.0.1:1', '--timeout', '0')).resolves.toMatchObject({
      code: EXIT.usage,
      err: expect.stringMatching(/--timeout: an integer from 1 to 3600000 \(got "0"\)/),
    }));
});

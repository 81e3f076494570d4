import { EXIT } from '../../lib/cli/cli-commands';
import { latencyProxy, type ProxiedConnection } from '../fixtures/latency-proxy';
import { spawnCli } from '../utils/cli-bin';
import { createRedis, closeAll, waitFor } from '../utils/redis';
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
  let proxy: Awaited<ReturnType<typeof latencyProxy>>;

  beforeEach(async () => {
    server = await startRedisServer();
    proxy = await latencyProxy(server.url, 0);
  });
  afterEach(async () => {
    await proxy.close();
    await server.kill('SIGCONT');
    await server.stop();
    await closeAll();
  });

  /**
   * How long the CLI kept at Redis: from its first connection to its last one closed, seen by a
   * proxy in front of the server. Not the time from spawn to exit: starting Node and ts-node took
   * 5-8 s of that on a loaded 2-core machine, more than a margin over the timeout could absorb.
   */
  async function keptAtRedisMs(connections: ProxiedConnection[]): Promise<number> {
    await waitFor(() => connections.length > 0 && connections.every((c) => c.closedAt !== undefined), {
      description: "the CLI's connections closed",
    });
    return Math.max(...connections.map((c) => c.closedAt!)) - Math.min(...connections.map((c) => c.openedAt));
  }

  it('a frozen server: exit 1 after the default 10 s, naming the wait', async () => {
    await server.kill('SIGSTOP');
    const result = await spawnCli('inspect', '--url', proxy.url, '--prefix', 'x');
    // Its connect() within the 10 s in all, not each of its steps waiting 10 s in turn.
    expect(await keptAtRedisMs(proxy.connections)).toBeLessThan(15_000);
    expect(result.code).toBe(EXIT.failed);
    expect(result.err).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+: no answer within 10000 ms/);
  }, 60_000);

  it('a command that gets no answer: exit 1 after --timeout, saying the change may have been made', async () => {
    const direct = createRedis({}, server.url);
    await direct.xadd('{x:default}:dlq', '*', 'id', 't', 'reason', 'r');
    // PING and reads go on; every script waits, past the CLI's start-up however slow (10 s seen).
    await direct.client('PAUSE', 60_000, 'WRITE');
    const result = await spawnCli(
      'dlq',
      'purge',
      '--all',
      '--yes',
      '--url',
      proxy.url,
      '--prefix',
      'x',
      '--timeout',
      '1000',
      '--json',
    );
    // Gave up after about the 1 s, long before the pause would have let the script run.
    expect(await keptAtRedisMs(proxy.connections)).toBeLessThan(5_000);
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
  }, 60_000);

  it('--timeout takes an integer of ms', () =>
    expect(spawnCli('inspect', '--url', 'redis://127.0.0.1:1', '--timeout', '0')).resolves.toMatchObject({
      code: EXIT.usage,
      err: expect.stringMatching(/--timeout: an integer from 1 to 3600000 \(got "0"\)/),
    }));
});

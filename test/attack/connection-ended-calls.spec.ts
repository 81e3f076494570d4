import { RedisConnections } from '../../lib/redis/redis-connections';
import { expectCallsRefusedAsEnded } from '../fixtures/ended-connection-calls';
import { closeApps, startApp } from '../fixtures/test-app';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { randomPrefix, waitFor } from '../utils/redis';

/*
 * A command connection whose retryStrategy gave up has ended for good. result() said so
 * (RedisUnreachableError: test/attack/result-commands-ended.spec.ts), but every QueueClient call
 * after it was refused with ioredis's bare `Connection is closed.`: no code, no `mayHaveRun`,
 * nothing saying the connection will not come back (the same on a cluster:
 * test/topology/cluster/cluster-ended-calls.spec.ts).
 */
describe('QueueClient: the command connection ended for good', () => {
  let server: RedisServerHandle;
  beforeAll(async () => (server = await startRedisServer()));
  afterAll(async () => {
    await closeApps();
    await server.stop();
  });

  it('refuses every later call with RedisUnreachableError, never sent', async () => {
    let giveUp = false;
    const t = await startApp({
      prefix: randomPrefix(),
      options: {
        worker: false,
        connection: { url: server.url, options: { retryStrategy: () => (giveUp ? null : 50) } },
      },
    });
    const keyed = await t.client.enqueue('echo', 'keyed', { key: 'k' });
    const commands = t.app.get(RedisConnections).commands;
    giveUp = true;
    await server.kill('SIGKILL');
    await waitFor(() => commands.status === 'end', { timeoutMs: 10_000, description: 'the connection ended' });

    await expectCallsRefusedAsEnded(t, keyed.id, 'retryStrategy');
  }, 40_000);
});

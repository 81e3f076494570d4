import { EnqueueManyError, RedisUnreachableError } from '../../lib';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { closeApps, startApp } from '../fixtures/test-app';
import { outcomeWithin } from '../utils/outcome-within';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { randomPrefix, waitFor } from '../utils/redis';

/** Far past an at-once refusal: a call still pending by then waits for good. */
const SETTLED_WITHIN_MS = 5_000;

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

    const neverSent = expect.objectContaining({
      code: 'REDIS_UNREACHABLE',
      mayHaveRun: false,
      message: expect.stringMatching(/ended and does not reconnect \(its retryStrategy gave up.*never sent/),
    });
    const calls: Record<string, () => Promise<unknown>> = {
      enqueue: () => t.client.enqueue('echo', 'plain'),
      'keyed enqueue': () => t.client.enqueue('echo', 'keyed', { key: 'k2' }),
      cancel: () => t.client.cancel('k'),
      status: () => t.client.status('k'),
      findTask: () => t.client.findTask(keyed.id),
    };
    for (const [name, call] of Object.entries(calls)) {
      const outcome = await outcomeWithin(call(), SETTLED_WITHIN_MS);
      expect({ name, outcome }).toEqual({ name, outcome: expect.any(RedisUnreachableError) });
      expect(outcome).toEqual(neverSent);
    }
    const many = await outcomeWithin(t.client.enqueueMany([{ name: 'echo', payload: 1 }]), SETTLED_WITHIN_MS);
    expect(many).toBeInstanceOf(EnqueueManyError);
    expect((many as EnqueueManyError).failed.map((f) => f.error)).toEqual([neverSent]);
  }, 40_000);
});

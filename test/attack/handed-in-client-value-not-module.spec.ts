import { Redis } from 'ioredis';
import { RedisUnreachableError } from '../../lib/errors';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { randomPrefix, waitFor } from '../utils/redis';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { outcomeWithin } from '../utils/outcome-within';

/** offlineTimeoutMs here: short, so a spec that waits past it stays short. */
const BOUND_MS = 1_000;

/**
 * offlineTimeoutMs gives up the module's own commands on a client handed in as `connection`,
 * never the application's. The module's were told apart by `{<prefix>:` in any argument, values
 * included: an application's `SET app:key "{sq:...}"` issued in an outage was given up with the
 * module's, on a client whose owner chose to wait for ever (`maxRetriesPerRequest: null`). Now
 * the module marks the commands it sends itself, and only those are bounded.
 */
describe('attack: an application command whose value holds the module prefix, on a client handed in', () => {
  let server: RedisServerHandle;
  let client: Redis;
  let producer: TestApp;

  beforeEach(async () => (server = await startRedisServer()));
  afterEach(async () => {
    await closeApps();
    client.disconnect();
    await server.stop();
  });

  it("is left to the client while the module's own call beside it is given up", async () => {
    const prefix = randomPrefix();
    client = new Redis(server.port, '127.0.0.1', { maxRetriesPerRequest: null });
    producer = await startApp({ prefix, options: { worker: false, connection: client, offlineTimeoutMs: BOUND_MS } });
    await server.kill('SIGKILL');
    await waitFor(() => client.status === 'reconnecting', { timeoutMs: 10_000, intervalMs: 5 });

    // Issued in one turn: seen by the same check of the bound, so given up together if both were the module's.
    const own = client.set('app:key', `{${prefix}:not-the-module's}`);
    own.catch(() => undefined); // judged below
    const module = producer.client.enqueue('echo', 'never-sent');

    expect(await module.catch((error: Error) => error)).toBeInstanceOf(RedisUnreachableError);
    expect(await outcomeWithin(own, 0)).toBe('pending');
    await server.restart();
    expect(await outcomeWithin(own, 10_000)).toBe('resolved');
    expect(await client.get('app:key')).toBe(`{${prefix}:not-the-module's}`);
  }, 40_000);
});

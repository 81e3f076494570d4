import { Redis } from 'ioredis';
import { RedisUnreachableError } from '../../lib/errors';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { randomPrefix, waitFor } from '../utils/redis';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { outcomeWithin } from '../utils/outcome-within';

/** offlineTimeoutMs here: short, so a spec that waits past it stays short. */
const BOUND_MS = 1_000;
/** Generous: timers on a loaded 2-core machine, the bound's checks. */
const SLACK_MS = 4_000;

/**
 * The module's transactions (MULTI ... EXEC: deadLetterBound()'s XLEN and XREVRANGE) on a
 * client handed in as `connection` were not under offlineTimeoutMs: the module's commands were
 * told apart by `{<prefix>:` in their arguments, which MULTI and EXEC lack, and a command inside
 * a MULTI was left whole. On a client that never gives a command up (`maxRetriesPerRequest:
 * null`) the call waited for as long as the outage lasted. Now the whole transaction is the
 * module's (it marks what it sends) and is given up together, with a typed error.
 */
describe('attack: a transaction of the module on a client handed in while Redis is away', () => {
  let server: RedisServerHandle;
  let client: Redis;
  let producer: TestApp;

  beforeEach(async () => (server = await startRedisServer()));
  afterEach(async () => {
    await closeApps();
    client.disconnect();
    await server.stop();
  });

  it('rejects within the bound with RedisUnreachableError, and the client works once Redis is back', async () => {
    client = new Redis(server.port, '127.0.0.1', { maxRetriesPerRequest: null });
    producer = await startApp({
      prefix: randomPrefix(),
      options: { worker: false, connection: client, offlineTimeoutMs: BOUND_MS },
    });
    // The queue's partitions are read first: Redis goes away once they are, as the MULTI is about to go.
    const multi = client.multi;
    client.multi = function (this: Redis, ...args: unknown[]) {
      const transaction = (multi as (...a: unknown[]) => ReturnType<Redis['multi']>).apply(this, args);
      const exec = transaction.exec.bind(transaction);
      transaction.exec = (async () => {
        await server.kill('SIGKILL');
        await waitFor(() => client.status === 'reconnecting', { timeoutMs: 10_000, intervalMs: 5 });
        return exec();
      }) as typeof transaction.exec;
      return transaction;
    } as typeof client.multi;

    const outcome = await outcomeWithin(producer.client.deadLetterBound('echo'), BOUND_MS + SLACK_MS);

    expect(outcome).toBeInstanceOf(RedisUnreachableError);
    expect((outcome as RedisUnreachableError).mayHaveRun).toBe(false);
    // No fragment of the transaction is left to be sent: the application's next command is answered as its own.
    await server.restart();
    expect(await client.set('app:after', 'v')).toBe('OK');
    expect(await client.get('app:after')).toBe('v');
  }, 40_000);
});

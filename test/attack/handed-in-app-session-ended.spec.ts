import { Redis } from 'ioredis';
import { RedisUnreachableError } from '../../lib';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { outcomeWithin } from '../utils/outcome-within';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { randomPrefix, waitFor } from '../utils/redis';

/** Far past an at-once rejection: a call still pending by then waits for good. */
const SETTLED_WITHIN_MS = 5_000;

/*
 * Review finding: the guard that holds the module's commands while the application's transaction
 * is open on a client handed in (guardAppSession) lay below the layer that types a call on a
 * client ended for good (refuseOnceEnded, installed after it, so outer). A module call it held
 * when the client ended on its own (its retryStrategy gave up) went out, at the application's
 * DISCARD, under that layer: ioredis refused it with its bare `Connection is closed.` where every
 * other call of the module's after the end gets a RedisUnreachableError saying it was never sent.
 * And with no DISCARD to come (the connection, and the transaction with it, are gone) it waited
 * until the application closed.
 */
describe('a client handed in that ends while the application’s transaction holds a module call', () => {
  let server: RedisServerHandle;
  let client: Redis;
  let giveUp: boolean;
  let app: TestApp;
  beforeEach(async () => {
    server = await startRedisServer();
    giveUp = false;
    client = new Redis(server.url, { retryStrategy: () => (giveUp ? null : 50), maxRetriesPerRequest: null });
    client.on('error', () => undefined);
    app = await startApp({
      prefix: randomPrefix(),
      options: { worker: false, offlineTimeoutMs: 60_000, connection: client },
    });
    await app.client.enqueue('echo', 'warm-up');
  });
  afterEach(async () => {
    await closeApps();
    client.disconnect();
    await server.stop();
  });

  /**
   * The application's transaction open, an enqueue held by it, then the client ended for good.
   * The enqueue comes back wrapped: an async function returning it would wait for it.
   */
  async function holdEnqueueThenEnd(): Promise<{ enqueued: Promise<unknown> }> {
    await (client.multi({ pipeline: false }) as unknown as Promise<unknown>);
    const enqueued = app.client.enqueue('echo', 'held');
    enqueued.catch(() => undefined); // read by the spec
    giveUp = true;
    await server.kill('SIGKILL');
    await waitFor(() => client.status === 'end', { timeoutMs: 10_000, description: 'the client ended' });
    return { enqueued };
  }

  const expectNeverSentByTheEnd = (outcome: unknown) => {
    expect(outcome).toBeInstanceOf(RedisUnreachableError);
    expect(outcome).toMatchObject({ code: 'REDIS_UNREACHABLE', mayHaveRun: false });
    expect((outcome as Error).message).toMatch(/ended and does not reconnect.*never sent/);
  };

  it('types the held call released by the application’s discard() after the end', async () => {
    const { enqueued } = await holdEnqueueThenEnd();

    await expect(client.discard()).rejects.toThrow('Connection is closed.');

    expectNeverSentByTheEnd(await outcomeWithin(enqueued, SETTLED_WITHIN_MS));
  }, 30_000);

  it('settles the held call at the end, typed: no DISCARD is to come on a connection gone for good', async () => {
    const { enqueued } = await holdEnqueueThenEnd();

    expectNeverSentByTheEnd(await outcomeWithin(enqueued, SETTLED_WITHIN_MS));
  }, 30_000);
});

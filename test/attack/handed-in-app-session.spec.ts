import type { Redis } from 'ioredis';
import { ApplicationClosedError, RedisUnreachableError } from '../../lib';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { outcomeWithin } from '../utils/outcome-within';
import { closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

/*
 * Review finding: a client handed in as `connection` is the application's too, and the module
 * wrote its commands on it whatever state the application had put the connection in.
 * - The application's transaction without a pipeline (`multi({ pipeline: false })`, then its
 *   commands, then `exec()` or `discard()`): Redis queued the module's commands sent meanwhile into
 *   that transaction. An enqueue resolved with its handle on Redis's `QUEUED`, and the
 *   application's `discard()` then dropped the task: lost, its caller told it was queued (with
 *   `exec()`, its reply went to the application's). A worker's settle went the same way.
 * - `select(3)` by the application: the module's later commands ran in db 3, while its workers
 *   (connections derived from the client, on its configured db) read db 0: the task was never run.
 */
describe('a client handed in as `connection`, in a state the application set', () => {
  let client: Redis;
  let app: TestApp;
  const reader = () => createRedis();
  beforeEach(async () => {
    client = createRedis();
    app = await startApp({ prefix: randomPrefix(), options: { worker: false, connection: client } });
    await app.client.enqueue('echo', 'warm-up');
  });
  afterEach(async () => {
    await closeApps();
    client.disconnect();
    await closeAll();
  });

  /**
   * The application's transaction opened on `client` without a pipeline (ioredis sends MULTI at
   * once), and one command queued in it: Redis's answer to that command.
   */
  async function openTransaction(key: string): Promise<unknown> {
    await (client.multi({ pipeline: false }) as unknown as Promise<unknown>);
    return client.set(key, 'app');
  }

  it('keeps an enqueue made during the application’s transaction out of it: its discard() loses nothing', async () => {
    expect(await openTransaction(`${app.keys.stream}:app`)).toBe('QUEUED');
    const enqueued = app.client.enqueue('echo', 'during-transaction');

    await client.discard();
    const handle = await enqueued;

    expect(await reader().xlen(app.keys.stream)).toBe(2);
    expect(await handle.status()).toEqual(expect.objectContaining({ state: 'pending' }));
  });

  it('tells the transaction sent by call(), capitals and all: its DISCARD loses nothing either', async () => {
    await client.call('MULTI');
    const enqueued = app.client.enqueue('echo', 'during-call-transaction');

    await client.call('DISCARD');
    const handle = await enqueued;

    expect(await reader().xlen(app.keys.stream)).toBe(2);
    expect(await handle.status()).toEqual(expect.objectContaining({ state: 'pending' }));
  });

  it('answers the application’s exec() with its own commands’ replies only', async () => {
    const key = `${app.keys.stream}:app`;
    await openTransaction(key);
    const enqueued = app.client.enqueue('echo', 'during-transaction');

    const replies = await client.exec();
    await enqueued;

    expect(replies).toEqual([[null, 'OK']]);
    expect(await reader().xlen(app.keys.stream)).toBe(2);
    await reader().del(key);
  });

  it('does not take a transaction held open past the lease for a connection gone silent: its exec() answers', async () => {
    const key = `${app.keys.stream}:app`;
    await openTransaction(key);
    // Longer than leaseMs (3 s here): the reply watch's PING waits behind the transaction.
    await new Promise((r) => setTimeout(r, 4_500));

    expect(await client.exec()).toEqual([[null, 'OK']]);
    await reader().del(key);
  }, 20_000);

  it('refuses, never sent, an enqueue still waiting out the transaction when the application closes', async () => {
    const key = `${app.keys.stream}:app`;
    await openTransaction(key);
    const enqueued = app.client.enqueue('echo', 'held-at-close');
    const outcome = enqueued.then(
      () => 'resolved',
      (error: unknown) => error,
    );

    await app.close();

    expect(await outcome).toBeInstanceOf(ApplicationClosedError);
    expect(((await outcome) as Error).message).toMatch(/never sent/);
    expect(await client.exec()).toEqual([[null, 'OK']]);
    expect(await reader().xlen(app.keys.stream)).toBe(1);
    await reader().del(key);
  });

  it('refuses, never sent, an enqueue the application’s transaction held for offlineTimeoutMs, and keeps the transaction', async () => {
    await closeApps();
    app = await startApp({
      prefix: randomPrefix(),
      options: { worker: false, connection: client, offlineTimeoutMs: 500 },
    });
    const key = `${app.keys.stream}:app`;
    await openTransaction(key);
    const startedAt = Date.now();
    // Without a bound it waited for the application: a transaction left open (a forgotten
    // discard()) stalled every call of the module on the client, with no error.
    const settled = await outcomeWithin(app.client.enqueue('echo', 'held-past-the-bound'), 5_000);

    expect(settled).toBeInstanceOf(RedisUnreachableError);
    expect((settled as RedisUnreachableError).mayHaveRun).toBe(false);
    expect((settled as Error).message).toMatch(/transaction/);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(450);
    expect(await client.exec()).toEqual([[null, 'OK']]);
    expect(await reader().exists(app.keys.stream)).toBe(0);
    await reader().del(key);
  }, 20_000);

  it('keeps a worker’s settle out of the application’s transaction: the run completes once it ends', async () => {
    await closeApps();
    const worker = await startApp({ prefix: randomPrefix(), options: { connection: client } });
    const producer = await startApp({ prefix: worker.keys.prefix, probe: worker.probe, options: { worker: false } });
    const key = `${worker.keys.stream}:app`;
    await openTransaction(key);

    const handle = await producer.client.enqueue('echo', 'settled-during-transaction');
    await waitFor(() => worker.probe.runsOf('echo').length === 1, { timeoutMs: 10_000 });
    // The run's handler returned: its settle goes out now, on the client in the transaction.
    await new Promise((r) => setTimeout(r, 300));
    const replies = await client.exec();

    expect(replies).toEqual([[null, 'OK']]);
    await waitFor(async () => (await handle.status())?.state === 'completed', {
      timeoutMs: 10_000,
    });
    await reader().del(key);
  });

  it('runs an enqueue made after the application’s select() in the module’s database, and leaves the application in its own', async () => {
    const appKey = `${app.keys.stream}:app`;
    await client.select(3);
    await client.set(appKey, 'in-db-3');

    const handle = await app.client.enqueue('echo', 'after-select');

    expect(await reader().xlen(app.keys.stream)).toBe(2);
    expect(await handle.status()).toEqual(expect.objectContaining({ state: 'pending' }));
    expect(await client.get(appKey)).toBe('in-db-3');
    const inDb3 = reader();
    await inDb3.select(3);
    expect(await inDb3.exists(app.keys.stream)).toBe(0);
    await inDb3.del(appKey);
    await client.select(0);
  });
});

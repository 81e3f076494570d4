import type { Cluster, Redis } from 'ioredis';
import { ApplicationClosedError, RedisUnreachableError } from '../../../lib';
import { closeApps, startApp, type TestApp } from '../../fixtures/test-app';
import { outcomeWithin } from '../../utils/outcome-within';
import { randomPrefix } from '../../utils/redis';
import { clusterClient, startRedisCluster, type RedisClusterHandle } from '../../utils/redis-cluster';

/*
 * Review finding: the guard that keeps the module's commands out of the application's transaction
 * on a client handed in (guardAppSession) was installed on a one-node client only. On a Cluster
 * handed in, the application's `multi({ pipeline: false })` (or a MULTI on one of its node
 * connections, `cluster.nodes()`) sends MULTI at once on one node's connection, the very one the
 * Cluster routes the module's commands for that node's slots to: Redis queued them into the
 * application's transaction. An enqueue resolved with its handle on `QUEUED`, and the
 * application's DISCARD dropped the task (its EXEC took the module's reply among its own).
 * `select()` is refused on a cluster, so only the transaction half applies.
 */
describe('a Cluster handed in as `connection`, in a transaction the application opened', () => {
  let cluster: RedisClusterHandle;
  let redis: Cluster;
  let app: TestApp;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicas: 0 });
    redis = clusterClient(cluster.nodes);
  }, 120_000);
  beforeEach(async () => {
    app = await startApp({ prefix: randomPrefix(), options: { worker: false, connection: redis } });
    await app.client.enqueue('echo', 'warm-up');
  }, 60_000);
  afterEach(async () => {
    // A transaction a failed case left open would take the next app's commands.
    for (const node of redis.nodes('master')) await node.discard().catch(() => undefined);
    await closeApps();
  });
  afterAll(async () => {
    redis.disconnect();
    await cluster.stop();
  });

  /** The Cluster's connection to the master serving the queue's stream (the module writes there). */
  async function streamNode(): Promise<Redis> {
    const { port } = await cluster.masterOf(app.keys.stream);
    return redis.nodes('master').find((node) => node.options.port === port)!;
  }

  /**
   * The application's `multi({ pipeline: false })` on the Cluster: its MULTI goes to a master the
   * Cluster samples, so it is opened again until it landed on the stream's (told by a SET of a key
   * there answering QUEUED); one opened elsewhere is discarded on its own node.
   */
  async function openClusterTransactionOnStreamNode(key: string): Promise<Redis> {
    for (let attempt = 0; attempt < 50; attempt++) {
      await (redis.multi({ pipeline: false }) as unknown as Promise<unknown>);
      if (((await redis.set(key, 'app')) as string) === 'QUEUED') return streamNode();
      await redis.del(key);
      for (const node of redis.nodes('master')) await node.discard().catch(() => undefined);
    }
    throw new Error('the MULTI never landed on the stream’s master');
  }

  it('keeps an enqueue made during the application’s Cluster transaction out of it: its discard() loses nothing', async () => {
    const node = await openClusterTransactionOnStreamNode(`${app.keys.stream}:app`);
    const enqueued = app.client.enqueue('echo', 'during-transaction');

    await node.discard();
    const handle = await enqueued;

    expect(await redis.xlen(app.keys.stream)).toBe(2);
    expect(await handle.status()).toEqual(expect.objectContaining({ state: 'pending' }));
  }, 60_000);

  it('refuses, never sent, an enqueue a node’s open transaction held for offlineTimeoutMs', async () => {
    await closeApps();
    app = await startApp({
      prefix: randomPrefix(),
      options: { worker: false, connection: redis, offlineTimeoutMs: 500 },
    });
    const key = `${app.keys.stream}:app`;
    const node = await streamNode();
    await (node.multi({ pipeline: false }) as unknown as Promise<unknown>);
    expect(await node.set(key, 'app')).toBe('QUEUED');
    const settled = await outcomeWithin(app.client.enqueue('echo', 'held-past-the-bound'), 5_000);

    expect(settled).toBeInstanceOf(RedisUnreachableError);
    expect((settled as RedisUnreachableError).mayHaveRun).toBe(false);
    expect(await node.exec()).toEqual([[null, 'OK']]);
    expect(await redis.exists(app.keys.stream)).toBe(0);
    await redis.del(key);
  }, 60_000);

  it('answers the application’s exec() on a node connection with its own commands’ replies only', async () => {
    const key = `${app.keys.stream}:app`;
    const node = await streamNode();
    await (node.multi({ pipeline: false }) as unknown as Promise<unknown>);
    expect(await node.set(key, 'app')).toBe('QUEUED');
    const enqueued = app.client.enqueue('echo', 'during-transaction');

    const replies = await node.exec();
    await enqueued;

    expect(replies).toEqual([[null, 'OK']]);
    expect(await redis.xlen(app.keys.stream)).toBe(2);
    await redis.del(key);
  }, 60_000);

  it('does not send the reply watch’s PING into a transaction held open past the lease', async () => {
    const key = `${app.keys.stream}:app`;
    const node = await streamNode();
    await (node.multi({ pipeline: false }) as unknown as Promise<unknown>);
    await node.set(key, 'app');
    // Longer than leaseMs (3 s here): a PING sent meanwhile would be queued in the transaction.
    await new Promise((r) => setTimeout(r, 4_500));

    expect(await node.exec()).toEqual([[null, 'OK']]);
    await redis.del(key);
  }, 60_000);

  it('refuses, never sent, an enqueue still waiting out the transaction when the application closes', async () => {
    const key = `${app.keys.stream}:app`;
    const node = await streamNode();
    await (node.multi({ pipeline: false }) as unknown as Promise<unknown>);
    await node.set(key, 'app');
    const outcome = app.client.enqueue('echo', 'held-at-close').then(
      () => 'resolved',
      (error: unknown) => error,
    );

    await app.close();

    expect(await outcome).toBeInstanceOf(ApplicationClosedError);
    expect(await node.exec()).toEqual([[null, 'OK']]);
    expect(await redis.xlen(app.keys.stream)).toBe(1);
    await redis.del(key);
  }, 60_000);

  it('runs the application’s pipelined transaction as ioredis runs it, the module’s calls beside it', async () => {
    const key = `${app.keys.stream}:app`;
    const [replies, handle] = await Promise.all([
      redis.multi().set(key, 'v').get(key).exec(),
      app.client.enqueue('echo', 'beside-pipelined-transaction'),
    ]);

    expect(replies).toEqual([
      [null, 'OK'],
      [null, 'v'],
    ]);
    expect(await handle.status()).toEqual(expect.objectContaining({ state: 'pending' }));
    await redis.del(key);
  }, 60_000);

  it('finds select() refused on a cluster: the module’s database cannot be switched under it', async () => {
    await expect(redis.select(1)).rejects.toThrow(/SELECT is not allowed in cluster mode/);
  }, 60_000);
});

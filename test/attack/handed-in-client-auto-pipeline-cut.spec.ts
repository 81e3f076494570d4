import { Redis } from 'ioredis';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { replyCuttingProxy, type ReplyCuttingProxy } from '../fixtures/reply-cutting-proxy';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { closeAll, createRedis, randomPrefix, redisUrl } from '../utils/redis';

/**
 * The module's calls on a client handed in as `connection` that auto-pipelines (a schedule(), a
 * cancel(), beside another call of the same turn): when the connection dropped after Redis
 * answered the first of a batch, ioredis rejected the rest with a bare "Command aborted due to
 * connection close", though Redis ran them. On the module's own connection they say "it may have
 * run" (auto-pipeline-reply-cut-partway); on a client handed in they now say so too. The
 * application's own calls on the client keep ioredis's error as it is.
 */
describe('attack: an auto-pipelined batch on a client handed in, its replies cut partway', () => {
  let proxy: ReplyCuttingProxy;
  let producer: TestApp;
  let client: Redis;
  let commands: Redis;
  beforeAll(async () => {
    proxy = await replyCuttingProxy(redisUrl());
    client = new Redis(proxy.url, { enableAutoPipelining: true });
    producer = await startApp({ prefix: randomPrefix(), options: { worker: false, connection: client } });
    commands = producer.app.get(RedisConnections).commands;
  });
  afterAll(async () => {
    await closeApps();
    client.disconnect();
    await closeAll();
    await proxy.close();
  });

  it("says that each of the module's commands aborted unanswered may have run", async () => {
    const [first, second] = [`${producer.keys.tag}:first`, `${producer.keys.tag}:second`];
    const cut = proxy.cutReplyTo(first, '+OK\r\n'.length); // the first reply only
    // One turn: one auto-pipelined write, of the module's.
    const replies = await Promise.allSettled([commands.set(first, '1'), commands.set(second, '2')]);
    await cut;

    expect(replies[0]).toEqual({ status: 'fulfilled', value: 'OK' });
    expect(replies[1].status).toBe('rejected');
    const error = (replies[1] as PromiseRejectedResult).reason as Error;
    expect(error.message).toMatch(/sent before the connection dropped and never answered: it may have run/);
    expect(error.name).toBe('AbortError'); // still ioredis's error, for code that checks it
    const redis = createRedis();
    expect(await redis.mget(first, second)).toEqual(['1', '2']);
    await redis.del(first, second);
  });

  it('says so of a cancel() and a schedule() aborted behind an answered call of the module', async () => {
    await producer.client.counts('echo'); // the client is connected again
    const first = `${producer.keys.tag}:before-cancel`;
    const cut = proxy.cutReplyTo(first, '+OK\r\n'.length);
    // One turn: the module's SET, then the cancel's and the schedule's script calls, in one write.
    const replies = await Promise.allSettled([
      commands.set(first, '1'),
      producer.client.cancel('cut-key'),
      producer.client.schedule('echo', 'x', { key: 'cut-schedule', every: 60_000 }),
    ]);
    await cut;

    expect(replies[0]).toEqual({ status: 'fulfilled', value: 'OK' });
    for (const reply of replies.slice(1)) {
      expect(reply.status).toBe('rejected');
      expect(((reply as PromiseRejectedResult).reason as Error).message).toMatch(/it may have run/);
    }
    await createRedis().del(first);
  });

  it("leaves the application's own aborted commands ioredis's error", async () => {
    await producer.client.counts('echo'); // the client is connected again
    const [first, second] = [`app-own-${producer.keys.tag}:first`, `app-own-${producer.keys.tag}:second`];
    const cut = proxy.cutReplyTo(first, '+OK\r\n'.length);
    const replies = await Promise.allSettled([client.set(first, '1'), client.set(second, '2')]);
    await cut;

    expect(replies[0]).toEqual({ status: 'fulfilled', value: 'OK' });
    expect(((replies[1] as PromiseRejectedResult).reason as Error).message).toBe(
      'Command aborted due to connection close',
    );
    const redis = createRedis();
    await redis.del(first, second);
  });
});

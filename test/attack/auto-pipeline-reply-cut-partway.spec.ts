import type { Redis } from 'ioredis';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { replyCuttingProxy, type ReplyCuttingProxy } from '../fixtures/reply-cutting-proxy';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { closeAll, createRedis, randomPrefix, redisUrl } from '../utils/redis';

/**
 * The command connection auto-pipelines: the calls of one turn (a keyed enqueue, a delayed or
 * flow-controlled one, a cancel(), beside a status read or a settle) leave in one pipeline. When
 * the connection dropped after Redis answered the first of them, ioredis rejected the rest with
 * a bare "Command aborted due to connection close" and resent none, though Redis ran them: an
 * unkeyed delayed enqueue so rejected read as one that may or may not have run, and a caller
 * retrying it wrote it twice. Explicit pipelines (execReplies) said "it may have run"; the
 * auto-pipelined calls of the same connection must too.
 */
describe('attack: an auto-pipelined batch whose replies were cut partway', () => {
  let proxy: ReplyCuttingProxy;
  let producer: TestApp;
  let commands: Redis;
  beforeAll(async () => {
    proxy = await replyCuttingProxy(redisUrl());
    producer = await startApp({
      prefix: randomPrefix(),
      options: { worker: false, connection: { url: proxy.url } },
    });
    commands = producer.app.get(RedisConnections).commands;
  });
  afterAll(async () => {
    await closeApps();
    await closeAll();
    await proxy.close();
  });

  it('says that each command aborted unanswered may have run', async () => {
    const [first, second] = [`${producer.keys.tag}:first`, `${producer.keys.tag}:second`];
    const cut = proxy.cutReplyTo(first, '+OK\r\n'.length); // the first reply only
    // One turn: one auto-pipelined write.
    const replies = await Promise.allSettled([commands.set(first, '1'), commands.set(second, '2')]);
    await cut;

    expect(replies[0]).toEqual({ status: 'fulfilled', value: 'OK' });
    expect(replies[1].status).toBe('rejected');
    const error = (replies[1] as PromiseRejectedResult).reason as Error;
    expect(error.message).toMatch(/sent before the connection dropped and never answered: it may have run/);
    expect(error.name).toBe('AbortError'); // still ioredis's error, for code that checks it
    // It did run.
    const redis = createRedis();
    expect(await redis.mget(first, second)).toEqual(['1', '2']);
    await redis.del(first, second);
  });
});

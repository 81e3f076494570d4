import { Redis } from 'ioredis';
import { disconnect } from '../../lib/redis/disconnect';
import { execReplies } from '../../lib/redis/pipeline-replies';
import { replyCuttingProxy, type ReplyCuttingProxy } from '../fixtures/reply-cutting-proxy';
import { useSpecRedis } from '../utils/spec-redis';
import { redisUrl } from '../utils/redis';

/**
 * A pipeline (a group commit of single enqueues over several streams, an enqueueMany, a pause)
 * whose connection dropped after Redis answered its first commands: ioredis resends none of the
 * rest (it resends a pipeline only from its start) and rejects each with "Command aborted due to
 * connection close", though Redis ran them. The README said a group-committed enqueue() rejected
 * wrote nothing; this one's task was written. execReplies, which every such pipeline goes
 * through, now says so in the error.
 */
describe('attack: a pipeline whose replies were cut partway', () => {
  const { prefix, redis } = useSpecRedis();
  let proxy: ReplyCuttingProxy;
  let client: Redis;
  beforeEach(async () => {
    proxy = await replyCuttingProxy(redisUrl());
    client = new Redis(proxy.url);
    await client.ping();
  });
  afterEach(async () => {
    disconnect(client);
    await proxy.close();
  });

  it('reports each unanswered command as one that may have run', async () => {
    const [first, second] = [`${prefix}:first`, `${prefix}:second`];
    const cut = proxy.cutReplyTo(first, '+OK\r\n'.length); // the first reply only
    const replies = await execReplies(client.pipeline().set(first, '1').set(second, '2'), 2);
    await cut;

    expect(replies[0]).toEqual([null, 'OK']);
    const error = replies[1][0]!;
    expect(error.message).toMatch(/sent before the connection dropped and never answered: it may have run/);
    expect(error.name).toBe('AbortError'); // still ioredis's error, for code that checks it
    // It did run.
    expect(await redis.mget(first, second)).toEqual(['1', '2']);
    await redis.del(first, second);
  });
});

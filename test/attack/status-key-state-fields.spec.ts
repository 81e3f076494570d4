import type { Redis } from 'ioredis';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * status(key) read the key's state hash whole (HGETALL), and anyone who can write to Redis can
 * add fields to it: with 50,000 fields of their own each status(key) was a reply of megabytes
 * (a million fields: tens of megabytes and Redis time to match), for the nine fields it reads.
 * It now asks for those fields alone (HMGET). A review finding; the spec failed.
 */
describe('attack: status(key) of a key state with thousands of foreign fields', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);

  /** The bytes Redis sends the app's command connection during `read`. */
  async function replyBytes<T>(read: () => Promise<T>): Promise<{ value: T; bytes: number }> {
    const connection = t.app.get(RedisConnections).commands as Redis;
    const stream = (connection as unknown as { stream: NodeJS.ReadableStream }).stream;
    let bytes = 0;
    const count = (chunk: Buffer) => (bytes += chunk.length);
    stream.on('data', count);
    try {
      return { value: await read(), bytes };
    } finally {
      stream.off('data', count);
    }
  }

  it('reads a reply of its own fields, whatever the hash holds', async () => {
    await t.client.enqueue('echo', 1, { key: 'k', delayMs: 60_000 });
    const state = t.keys.keyState('k');
    const junk: string[] = [];
    for (let i = 0; i < 50_000; i++) junk.push(`junk-${i}`, 'x'.repeat(20));
    await redis.hset(state, ...junk);
    const { value, bytes } = await replyBytes(() => t.client.status('k'));
    expect(value).toMatchObject({ state: 'delayed', key: 'k', generation: expect.any(Number) });
    expect(value!.enqueuedAt).toBeInstanceOf(Date);
    expect(bytes).toBeLessThan(2_000);
  });
});

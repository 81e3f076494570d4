import Redis from 'ioredis';
import { watchReplies } from '../../lib/redis/reply-watchdog';
import { blockAfterWrite } from '../utils/block-event-loop';
import { sleep } from '../utils/helpers';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';

/*
 * The reply watch drops a connection on which nothing arrived for its bound while its PING
 * waited (a half-open one). It judged that by its own timer, which Node runs before it reads the
 * sockets: with the event loop blocked past the bound (a CPU-bound moment, a GC pause) while a
 * PING was out, the reply waiting unread in the socket lost to the late timer, the connection was
 * destroyed, and ioredis resent what was unanswered on the next one (a plain XADD twice) — a
 * review finding; it failed.
 */
describe('attack: the reply watch beside a blocked event loop', () => {
  let server: RedisServerHandle;
  const clients: Redis[] = [];
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await server.stop();
  });

  it('keeps a connection whose PING was answered while the loop was blocked past the bound', async () => {
    const redis = new Redis(server.port, '127.0.0.1');
    clients.push(redis);
    await redis.ping();
    const socket = redis.stream;
    let closed = 0;
    redis.on('close', () => closed++);
    const blocked = blockAfterWrite(redis, 'ping', () => 600, { answeredBy: server.port });
    const stop = watchReplies(redis, 20, 300);
    try {
      await blocked;
      await sleep(100);
      expect(closed).toBe(0);
      expect(redis.stream).toBe(socket);
      await expect(redis.ping()).resolves.toBe('PONG');
    } finally {
      stop();
    }
  });

  it('still drops one whose PING went unanswered past the bound', async () => {
    const redis = new Redis(server.port, '127.0.0.1');
    clients.push(redis);
    await redis.ping();
    let closed = 0;
    redis.on('close', () => closed++);
    // Redis answers no client for longer than the bound: the PING waits unanswered.
    const admin = new Redis(server.port, '127.0.0.1');
    clients.push(admin);
    await admin.call('CLIENT', 'PAUSE', '1000', 'ALL');
    const stop = watchReplies(redis, 20, 300);
    try {
      await sleep(700);
      expect(closed).toBeGreaterThan(0);
    } finally {
      stop();
    }
  });
});

import { startRedisServer, type RedisServerHandle } from '../test/utils/redis-server';

/** REDIS_URL when set, else a private redis-server on a free port (stopped by the caller). */
export async function provideRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const url = process.env.REDIS_URL;
  if (url) return { url, stop: async () => undefined };
  const server: RedisServerHandle = await startRedisServer();
  return { url: server.url, stop: () => server.stop() };
}

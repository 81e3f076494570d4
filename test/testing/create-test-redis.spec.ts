import { createTestRedis, dockerAnswers } from '../../lib/testing/create-test-redis';
import { closeAll, createRedis } from '../utils/redis';

describe('createTestRedis()', () => {
  const dockerHost = process.env.DOCKER_HOST;
  afterEach(() => {
    if (dockerHost === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = dockerHost;
  });
  afterAll(closeAll);

  it('falls back to a redis-server child that answers, and stop() ends it, when no Docker engine answers', async () => {
    process.env.DOCKER_HOST = 'unix:///nonexistent/docker.sock';
    await expect(dockerAnswers()).resolves.toBe(false);

    const redis = await createTestRedis();
    expect(redis.source).toBe('redis-server');
    const client = createRedis({ maxRetriesPerRequest: 0, retryStrategy: () => null }, redis.url);
    await expect(client.ping()).resolves.toBe('PONG');

    await redis.stop();
    await expect(client.ping()).rejects.toThrow();
  });

  it('with docker: false starts two servers on different ports, never probing an engine', async () => {
    process.env.DOCKER_HOST = 'tcp://probe-must-not-happen.invalid:2375';
    const [a, b] = await Promise.all([createTestRedis({ docker: false }), createTestRedis({ docker: false })]);
    try {
      expect([a.source, b.source]).toEqual(['redis-server', 'redis-server']);
      expect(a.url).not.toBe(b.url);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

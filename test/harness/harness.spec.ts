import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, redisUrl, waitFor } from '../utils/redis';
import { RedisServerHandle, startRedisServer } from '../utils/redis-server';

// The harness the other suites stand on: if these fail, nothing else here means anything.
describe('test harness', () => {
  afterAll(closeAll);

  it('provides a Redis that answers, via REDIS_URL', async () => {
    expect(redisUrl()).toMatch(/^rediss?:\/\//);
    await expect(createRedis().ping()).resolves.toBe('PONG');
  });

  it('cleanupPrefix deletes hash-tagged and plain keys of one prefix only', async () => {
    const redis = createRedis();
    const prefix = randomPrefix();
    const other = randomPrefix();
    expect(prefix).toMatch(/^sq-test-[0-9a-f-]{36}$/);
    await redis.xadd(`{${prefix}:emails}:stream`, '*', 'f', 'v');
    await redis.set(`{${prefix}:emails}:gen`, '1');
    await redis.set(`${prefix}:plain`, '1');
    await redis.set(`{${other}:emails}:gen`, '1');
    await expect(cleanupPrefix(redis, prefix)).resolves.toBe(3);
    await expect(redis.exists(`{${prefix}:emails}:stream`, `{${prefix}:emails}:gen`, `${prefix}:plain`)).resolves.toBe(
      0,
    );
    await expect(redis.exists(`{${other}:emails}:gen`)).resolves.toBe(1);
    await cleanupPrefix(redis, other);
  });

  describe('waitFor', () => {
    it('resolves with the first truthy value', async () => {
      let calls = 0;
      await expect(waitFor(() => (++calls >= 3 ? calls : 0), { intervalMs: 1 })).resolves.toBe(3);
    });

    it('rejects on timeout, naming what it waited for and the last value or error', async () => {
      await expect(waitFor(() => false, { timeoutMs: 50, description: 'the impossible' })).rejects.toThrow(
        /timed out after \d+ ms .*waiting for: the impossible; last value: false/,
      );
      await expect(
        waitFor(
          () => {
            throw new Error('not yet');
          },
          { timeoutMs: 50 },
        ),
      ).rejects.toThrow(/last error: Error: not yet/);
    });
  });

  describe('startRedisServer', () => {
    let server: RedisServerHandle | undefined;
    afterEach(async () => {
      await server?.stop();
      server = undefined;
    });

    it('starts a private server on a free port, separate from the suite Redis', async () => {
      server = await startRedisServer();
      expect(server.url).not.toBe(redisUrl());
      expect(server.running).toBe(true);
      await expect(createRedis({}, server.url).ping()).resolves.toBe('PONG');
    });

    it('restart after a SIGKILL keeps AOF data, on the same port and dir', async () => {
      server = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
      const { port, dir } = server;
      const firstPid = server.pid;
      const client = createRedis({ maxRetriesPerRequest: 20 }, server.url);
      await client.set('survives', 'the crash');

      await server.kill('SIGKILL');
      expect(server.running).toBe(false);
      await server.restart();

      expect(server.port).toBe(port);
      expect(server.dir).toBe(dir);
      expect(server.pid).not.toBe(firstPid);
      // The same client reconnects by itself: what library connections will do across a restart.
      await expect(client.get('survives')).resolves.toBe('the crash');
    });

    it('without AOF a restart starts empty (so the test above proves persistence)', async () => {
      server = await startRedisServer();
      const client = createRedis({ maxRetriesPerRequest: 20 }, server.url);
      await client.set('gone', '1');
      await server.kill('SIGKILL');
      await server.restart();
      await expect(client.get('gone')).resolves.toBeNull();
    });

    it('stop ends the process, frees the port and removes its temp dir', async () => {
      const stopped = await startRedisServer();
      await stopped.stop();
      expect(stopped.running).toBe(false);
      expect(existsSync(stopped.dir)).toBe(false);
      await expect(connectionError(stopped.port)).resolves.toBe('ECONNREFUSED');
      await expect(stopped.restart()).rejects.toThrow(/stopped for good/);
    });

    it('a second server on a taken port fails with its log, not a hang', async () => {
      server = await startRedisServer();
      await expect(startRedisServer({ port: server.port, readyTimeoutMs: 3_000 })).rejects.toThrow(
        /did not become ready[\s\S]*Address already in use/i,
      );
    });
  });
});

function connectionError(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

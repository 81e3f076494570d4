import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { spawnWorker } from '../utils/spawn-worker';
import { msAfterUntilExit } from '../fixtures/exit-after';

/*
 * Review finding (of d0170ca, which cleared the timer ioredis's disconnect() arms on a socket
 * closed already): a connection disconnected while its socket was connected but its handshake
 * unanswered (CLIENT SETINFO, the INFO ready check) still held the process ~2 s. The socket
 * closes, the ready check then fails ('Connection is closed'), and ioredis's
 * recoverFromFatalError disconnects it again, on the closed socket: a second timer nothing
 * cleared. Reached by suspend() (an init given up on while Redis accepted but did not answer),
 * connectOnce and the CLI timing out on such a Redis. Not by app.close(): closeUnconnected
 * rejects the handshake's commands while the socket is still open, whose close then clears it.
 */
describe('a connection disconnected mid-handshake', () => {
  let server: RedisServerHandle | undefined;
  afterEach(async () => {
    await server?.kill('SIGCONT');
    await server?.stop();
    server = undefined;
  });

  it('disconnect() at its connect: the process exits once the client ended', async () => {
    server = await startRedisServer();
    const worker = await spawnWorker('test/e2e/fixtures/disconnect-mid-handshake.ts', {
      env: { REDIS_URL: server.url },
      ready: /^ended$/,
    });
    expect(worker.stdout).toContain('disconnect at connect');
    expect(await msAfterUntilExit(worker, 'ended')).toBeLessThan(1_000);
  }, 60_000);

  it('a failed init, given up on with its handshake unanswered: the process exits by itself at once', async () => {
    server = await startRedisServer();
    // Stopped, it still accepts connections (the kernel does): the ready check goes unanswered.
    await server.kill('SIGSTOP');
    const worker = await spawnWorker('test/e2e/fixtures/failed-init-worker.ts', {
      env: { REDIS_URL: server.url, SQ_PREFIX: 'sq-test-mid-handshake', FAILURE: 'unanswered' },
      ready: false,
    });
    await worker.waitForLine(/^(failed|booted)/, { timeoutMs: 30_000 });
    expect(worker.stdout).toContain('failed RedisUnreachableError');
    await server.kill('SIGCONT');
    expect(await msAfterUntilExit(worker, 'failed')).toBeLessThan(1_000);
  }, 60_000);
});

import { startRedisServer, type RedisServerHandle } from '../../lib/testing/redis-server';
import { closeApps, startApp } from '../fixtures/test-app';
import { Latch } from '../utils/latch';
import { randomPrefix, waitFor } from '../utils/redis';

const SHUTDOWN_TIMEOUT_MS = 1_000;
/**
 * shutdownTimeoutMs, what stop() may add (1 s for aborted runs, 2 s for the heartbeat thread), the
 * 2 s QUIT bound, and slack for a loaded machine: a bound for "does not hang", not a measure.
 */
const CLOSE_BOUND_MS = SHUTDOWN_TIMEOUT_MS + 3_000 + 2_000 + 6_000;

/**
 * A worker closes while its Redis is frozen (SIGSTOP: a stalled server, or a network path that
 * drops packets without a reset). The connections stay 'ready', so close() sent QUIT on each and
 * awaited a reply that never came: app.close() never ended (a SIGTERMed process never exited).
 * The replies that come once Redis thaws must not reach ioredis for commands already rejected.
 */
describe('attack: app.close() while Redis is frozen', () => {
  let server: RedisServerHandle;

  beforeEach(async () => {
    server = await startRedisServer();
  });
  afterEach(async () => {
    await server.kill('SIGCONT');
    await closeApps();
    await server.stop();
  });

  it('ends within its bound, and a pending result() rejects with ApplicationClosedError', async () => {
    const t = await startApp({
      prefix: randomPrefix(),
      options: { connection: { url: server.url }, shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS },
    });
    const gate = new Latch();
    t.probe.on('once', async () => {
      await gate.wait();
      return 'late';
    });
    const handle = await t.client.enqueue('once', null);
    await waitFor(() => t.probe.runs.length === 1, { description: 'the run started' });
    const result = handle.result({ timeoutMs: 60_000 }).catch((error: Error) => error);
    await server.kill('SIGSTOP');

    const closing = t.close();
    gate.open(); // it returns; its settle cannot reach Redis
    const closed = await Promise.race([
      closing.then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), CLOSE_BOUND_MS)),
    ]);
    expect(closed).toBe(true);
    await expect(result).resolves.toMatchObject({ name: 'ApplicationClosedError' });
  }, 30_000);

  it('of a producer: ends within its bound, and an enqueue awaiting its reply rejects with ApplicationClosedError', async () => {
    const t = await startApp({ prefix: randomPrefix(), options: { worker: false, connection: { url: server.url } } });
    await server.kill('SIGSTOP');
    const enqueued = t.client.enqueue('once', null).catch((error: Error) => error);

    const closed = await Promise.race([
      t.close().then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), CLOSE_BOUND_MS)),
    ]);
    expect(closed).toBe(true);
    // Sent and never answered: it may have run, and the error says so.
    await expect(enqueued).resolves.toMatchObject({ name: 'ApplicationClosedError', message: /may have run/ });
  }, 30_000);
});

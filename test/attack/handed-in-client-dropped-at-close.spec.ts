import { Redis } from 'ioredis';
import { ApplicationClosedError } from '../../lib/errors';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { randomPrefix, waitFor } from '../utils/redis';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { unanswered } from '../utils/written-commands';

/** How many XADDs (an unkeyed enqueue is one) the server ran so far. */
async function xaddsRun(port: number): Promise<number> {
  const probe = new Redis(port, '127.0.0.1');
  try {
    const stats = await probe.info('commandstats');
    return Number(/cmdstat_xadd:calls=(\d+)/.exec(stats)?.[1] ?? 0);
  } finally {
    probe.disconnect();
  }
}

/**
 * A client handed in as `connection`, frozen at app.close() with an enqueue of the module written
 * on it, whose socket drops during the 2 s the close gives that call: ioredis kept the call to
 * resend once it reconnected, and the close took it out only of the queue it was in when the close
 * began. The call was rejected as may have run, and sent again after app.close() resolved: Redis
 * ran the enqueue twice (once from the dropped socket, once resent), two tasks for one call. Now
 * the close takes it out wherever the drop moved it: it runs once, from the dropped socket.
 */
describe('attack: the socket of a client handed in drops while app.close() waits for the module call on it', () => {
  let server: RedisServerHandle;
  let client: Redis;
  let producer: TestApp;

  beforeEach(async () => (server = await startRedisServer()));
  afterEach(async () => {
    if (server.running) await server.kill('SIGCONT');
    await closeApps();
    client.disconnect();
    await server.stop();
  });

  it('is never resent after the close: the enqueue runs once', async () => {
    client = new Redis(server.port, '127.0.0.1');
    producer = await startApp({ prefix: randomPrefix(), options: { worker: false, connection: client } });
    const connections = producer.app.get(RedisConnections);
    const before = await xaddsRun(server.port);
    await server.kill('SIGSTOP');
    const written = producer.client.enqueue('echo', 'once');
    written.catch(() => undefined); // judged below
    await waitFor(() => unanswered(client) > 0, { intervalMs: 1 });

    const closed = producer.close();
    // The close has taken stock of the module's calls (nothing runs before it in a producer's close).
    await waitFor(() => connections.isClosed, { intervalMs: 1 });
    client.stream.destroy();
    await closed;

    const outcome = await written.then(
      () => 'resolved',
      (error: Error) => error,
    );
    expect(outcome).toBeInstanceOf(ApplicationClosedError);
    expect((outcome as Error).message).toMatch(/may have run/);
    await server.kill('SIGCONT');
    await waitFor(() => client.status === 'ready', { timeoutMs: 10_000, intervalMs: 5 });
    await client.ping(); // behind whatever ioredis resent once ready
    expect((await xaddsRun(server.port)) - before).toBe(1);
  }, 40_000);
});

import { Redis } from 'ioredis';
import { ApplicationClosedError } from '../../lib/errors';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { randomPrefix, waitFor } from '../utils/redis';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { outcomeWithin } from '../utils/outcome-within';
import { unanswered } from '../utils/written-commands';

/**
 * A client handed in as `connection`, still 'ready' at app.close() but frozen (the server
 * accepted the commands and never answers): the module's calls already written waited as long as
 * the client let them, after the application closed, for ever if Redis never came back. Now the
 * close gives them the 2 s it gives QUIT on its own connections, then rejects them with
 * ApplicationClosedError saying they may have run. They stay in the client's queue, so the
 * replies that come later are matched to the right commands: the application's own call written
 * behind them gets its own reply.
 */
describe('attack: a call of the module written on a frozen client handed in, at app.close()', () => {
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

  it('is rejected at close as may have run, and the replies that come later go to the right calls', async () => {
    client = new Redis(server.port, '127.0.0.1');
    await client.set('app:own', 'the-applications');
    producer = await startApp({ prefix: randomPrefix(), options: { worker: false, connection: client } });
    await server.kill('SIGSTOP');
    const written = producer.client.status('some-key');
    written.catch(() => undefined); // judged below
    await waitFor(() => unanswered(client) > 0, { intervalMs: 1 });
    const own = client.get('app:own');

    await producer.close();

    const outcome = await outcomeWithin(written, 0);
    expect(outcome).toBeInstanceOf(ApplicationClosedError);
    expect((outcome as Error).message).toMatch(/may have run/);
    expect(await outcomeWithin(own, 0)).toBe('pending');
    await server.kill('SIGCONT');
    expect(await own).toBe('the-applications');
  }, 40_000);
});

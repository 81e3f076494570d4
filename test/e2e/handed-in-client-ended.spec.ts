import { Redis } from 'ioredis';
import { RedisUnreachableError } from '../../lib';
import { buildApp, closeHostileApps, rejectionOf } from '../fixtures/hostile-tasks';
import { testOptions } from '../fixtures/test-app';
import { randomPrefix, redisUrl } from '../utils/redis';

/** Closes `client` by `close`, then waits for its end (status 'end'). */
async function ended(client: Redis, close: (client: Redis) => unknown): Promise<void> {
  const end = new Promise((resolve) => client.once('end', resolve));
  await close(client);
  await end;
}

/*
 * An ioredis client handed in as `connection` that was closed (quit() or disconnect()) never
 * reconnects, and the module never reopens a client it does not own. The bootstrap failed with
 * messages that sent the user to look at Redis: "could not be reached after 10 attempts (...):
 * the connection was closed and does not reconnect" (one attempt made, Redis up), or, when the
 * client's close was still under way (quit() resolved, the socket not yet closed), ioredis's bare
 * "Connection is closed.". It fails at once, naming the client handed in.
 */
describe('booting on a handed-in client that was closed', () => {
  afterEach(closeHostileApps);

  it.each([
    ['ended by quit()', (client: Redis) => ended(client, (c) => c.quit())],
    ['ended by disconnect()', (client: Redis) => ended(client, (c) => c.disconnect())],
    ['quit, its socket not closed yet', (client: Redis) => client.quit()],
  ])('fails at once when it was %s, and says so', async (_how, close) => {
    const client = new Redis(redisUrl());
    await client.ping();
    await close(client);
    const app = await buildApp(testOptions(randomPrefix(), { connection: client }));

    const started = performance.now();
    const error = await rejectionOf(app.init(), 15_000, 'bootstrap on a closed client');

    expect(performance.now() - started).toBeLessThan(2_000);
    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect(error.message).toMatch(
      /client handed in as `connection` has ended \(quit\(\) or disconnect\(\) was called on it/,
    );
  });
});

import { Redis } from 'ioredis';
import { ApplicationClosedError } from '../../lib/errors';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { randomPrefix, waitFor } from '../utils/redis';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { outcomeWithin } from '../utils/outcome-within';

/** ioredis's queue of commands written and unanswered (internal). */
const unanswered = (redis: Redis) => (redis as unknown as { commandQueue: { length: number } }).commandQueue.length;

/** offlineTimeoutMs here: long, so that nothing but the close gives the call up. */
const BOUND_MS = 600_000;

/**
 * The module's calls still queued on a client handed in as `connection` when the application
 * closed (Redis away, on a client that never gives a command up: `maxRetriesPerRequest: null`)
 * were left in the client's queue, and sent once it reconnected, after the application closed:
 * an enqueue made before the close wrote its task then. Now the close takes the module's queued
 * calls out, rejected with ApplicationClosedError (never sent); the application's own calls on
 * its client stay queued and go once Redis is back.
 */
describe('attack: a call of the module queued on a client handed in at app.close()', () => {
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

  it('queued in an outage: rejected at close and never sent, while the application call beside it goes once Redis is back', async () => {
    const prefix = randomPrefix();
    client = new Redis(server.port, '127.0.0.1', { maxRetriesPerRequest: null });
    producer = await startApp({ prefix, options: { worker: false, connection: client, offlineTimeoutMs: BOUND_MS } });
    await server.kill('SIGKILL');
    await waitFor(() => client.status === 'reconnecting', { timeoutMs: 10_000, intervalMs: 5 });
    const queued = producer.client.enqueue('echo', 'queued-at-close');
    queued.catch(() => undefined); // judged below
    const own = client.set('app:own', 'v');
    own.catch(() => undefined); // judged below

    await producer.close();

    const outcome = await outcomeWithin(queued, 0);
    expect(outcome).toBeInstanceOf(ApplicationClosedError);
    expect((outcome as Error).message).toMatch(/never sent/);
    expect(await outcomeWithin(own, 0)).toBe('pending');
    await server.restart();
    expect(await outcomeWithin(own, 10_000)).toBe('resolved');
    // The client answered the application's call after its queue was sent: the enqueue was not in it.
    expect(await client.xlen(`{${prefix}:echo}:stream`)).toBe(0);
  }, 40_000);

  it('written before the drop, its reconnect never answered: rejected at close as may have run, never sent again', async () => {
    client = new Redis(server.port, '127.0.0.1');
    producer = await startApp({
      prefix: randomPrefix(),
      options: { worker: false, connection: client, offlineTimeoutMs: BOUND_MS },
    });
    // Every command the client writes from now on, the resends of a reconnect included.
    const sent: object[] = [];
    const send = client.sendCommand.bind(client);
    client.sendCommand = ((command: object, ...rest: never[]) => {
      sent.push(command);
      return send(command as never, ...rest);
    }) as typeof client.sendCommand;
    await server.kill('SIGSTOP');
    const written = producer.client.enqueue('echo', 'written-before-the-drop');
    written.catch(() => undefined); // judged below
    await waitFor(() => sent.length > 0 && unanswered(client) > 0, { intervalMs: 1 });
    const enqueue = sent[sent.length - 1];
    // The connection drops; the reconnect is accepted and its ready check never answered.
    client.stream.destroy();
    await waitFor(() => client.status === 'connect', { timeoutMs: 10_000, intervalMs: 5 });

    await producer.close();

    const outcome = await outcomeWithin(written, 0);
    expect(outcome).toBeInstanceOf(ApplicationClosedError);
    expect((outcome as Error).message).toMatch(/may have run/);
    const sentBefore = sent.length;
    await server.kill('SIGCONT');
    await waitFor(() => client.status === 'ready', { timeoutMs: 20_000 });
    expect(await client.ping()).toBe('PONG');
    expect(sent.slice(sentBefore)).not.toContain(enqueue);
  }, 60_000);
});

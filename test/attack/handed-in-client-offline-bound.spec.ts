import { Redis, type RedisOptions } from 'ioredis';
import { RedisUnreachableError } from '../../lib/errors';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { randomPrefix, waitFor } from '../utils/redis';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { outcomeWithin } from '../utils/outcome-within';

/** offlineTimeoutMs here: short, so a spec that waits past it stays short. */
const BOUND_MS = 1_000;
/** Generous: timers on a loaded 2-core machine, the bound's checks. */
const SLACK_MS = 4_000;

/** ioredis's queue of commands written and unanswered (internal). */
const unanswered = (redis: Redis) => (redis as unknown as { commandQueue: { length: number } }).commandQueue.length;

/**
 * offlineTimeoutMs bounded only a command connection the module made itself: with an ioredis
 * client handed in as `connection`, a call waited as ioredis let it. Behind a reconnect that is
 * accepted and never answered (a frozen Redis) ioredis closes nothing, so it never gives a
 * queued command up: an enqueue written before the drop, or a status() read issued meanwhile,
 * never settled. With `maxRetriesPerRequest: null` (which BullMQ asks of a shared client), a
 * plain outage held every call for as long as it lasted. The module's own calls on a handed-in
 * client now reject with RedisUnreachableError within the bound, `mayHaveRun` set, while the
 * application's own commands on the client keep ioredis's behaviour (the client is the user's).
 */
describe('attack: a call on a client handed in while it is down or never gets ready', () => {
  let server: RedisServerHandle;
  let client: Redis;
  let producer: TestApp;
  const start = async (options: RedisOptions = {}) => {
    client = new Redis(server.port, '127.0.0.1', options);
    producer = await startApp({
      prefix: randomPrefix(),
      options: { worker: false, connection: client, offlineTimeoutMs: BOUND_MS },
    });
  };

  beforeEach(async () => (server = await startRedisServer()));
  afterEach(async () => {
    if (server.running) await server.kill('SIGCONT');
    await closeApps();
    client.disconnect();
    await server.stop();
  });

  it('rejects an enqueue written before the drop, its reconnect never answered, saying it may have run', async () => {
    await start();
    // Frozen: the kernel still accepts connections into the listen backlog, nothing answers.
    await server.kill('SIGSTOP');
    const sent = producer.client.enqueue('echo', 'sent');
    await waitFor(() => client.status === 'ready' && unanswered(client) > 0, { intervalMs: 1 });
    // The connection drops (a cut); the reconnect is accepted and its ready check never answered.
    client.stream.destroy();
    await waitFor(() => client.status === 'connect', { timeoutMs: 10_000, intervalMs: 5 });
    const read = producer.client.status('some-key');
    const own = client.get('the-applications-own-key');
    own.catch(() => undefined); // judged below; rejected only if the spec fails first

    const [outcome, readOutcome] = await Promise.all([
      outcomeWithin(sent, BOUND_MS + SLACK_MS),
      outcomeWithin(read, BOUND_MS + SLACK_MS),
    ]);

    expect(outcome).toBeInstanceOf(RedisUnreachableError);
    expect((outcome as RedisUnreachableError).mayHaveRun).toBe(true);
    expect((outcome as RedisUnreachableError).message).toMatch(/sent before the connection dropped.*may have run/);
    expect(readOutcome).toBeInstanceOf(RedisUnreachableError);
    expect((readOutcome as RedisUnreachableError).mayHaveRun).toBe(false);
    // The application's own command is not the module's to give up: it goes once Redis is back.
    expect(await outcomeWithin(own, 0)).toBe('pending');
    await server.kill('SIGCONT');
    expect(await outcomeWithin(own, 10_000)).toBe('resolved');
  }, 40_000);

  it('rejects an enqueue issued in an outage on a client that never gives a command up (maxRetriesPerRequest null)', async () => {
    await start({ maxRetriesPerRequest: null });
    await server.kill('SIGKILL');
    await waitFor(() => client.status === 'reconnecting', { timeoutMs: 10_000, intervalMs: 5 });

    const outcome = await outcomeWithin(producer.client.enqueue('echo', 'never-sent'), BOUND_MS + SLACK_MS);

    expect(outcome).toBeInstanceOf(RedisUnreachableError);
    expect((outcome as RedisUnreachableError).mayHaveRun).toBe(false);
    expect((outcome as RedisUnreachableError).message).toMatch(/never sent.*nothing was written/);
    // Back, so that the client reconnects and closes as usual.
    await server.restart();
    await waitFor(() => client.status === 'ready', { timeoutMs: 10_000 });
  }, 40_000);
});

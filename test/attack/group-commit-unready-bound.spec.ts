import type { Redis } from 'ioredis';
import { RedisUnreachableError } from '../../lib/errors';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { randomPrefix, waitFor } from '../utils/redis';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';

const BOUND_MS = 3_000;
/** The bound's two checks (offlineTimeoutMs / 20 apart), and timers on a loaded 2-core machine. */
const SLACK_MS = 1_500;

/**
 * offlineTimeoutMs bounds a call's wait for a command connection that is down. A plain enqueue
 * (no key, due now) goes by group commit: with a send in flight, later calls wait in the
 * batcher, not in ioredis's queues, which are all the bound looks at. So a call made while an
 * earlier one waited for a connection that was down waited for that one's rejection (the bound),
 * and only then began its own wait in ioredis's queue: about twice offlineTimeoutMs.
 */
describe('attack: a group-committed enqueue while the command connection is down', () => {
  let server: RedisServerHandle;
  let producer: TestApp;
  let commands: Redis;

  afterEach(async () => {
    await closeApps();
    if (server.running) await server.kill('SIGCONT');
    await server.stop();
  });
  beforeEach(async () => {
    server = await startRedisServer();
    producer = await startApp({
      prefix: randomPrefix(),
      options: { worker: false, connection: { url: server.url }, offlineTimeoutMs: BOUND_MS },
    });
    commands = producer.app.get(RedisConnections).commands;
  });

  it('rejects a call held behind a send in flight within offlineTimeoutMs, saying it was never sent', async () => {
    await server.kill('SIGKILL');
    await waitFor(() => commands.status !== 'ready', { intervalMs: 1 });

    // The first is written at once (into ioredis's offline queue); the second waits for it.
    const first = producer.client.enqueue('echo', 'first').catch((error: Error) => error);
    const startedAt = performance.now();
    const second = await producer.client.enqueue('echo', 'second').then(
      () => undefined,
      (error: Error) => error,
    );
    const waitedMs = performance.now() - startedAt;

    expect(await first).toBeInstanceOf(RedisUnreachableError);
    expect(second).toBeInstanceOf(RedisUnreachableError);
    expect((second as RedisUnreachableError).mayHaveRun).toBe(false);
    expect(waitedMs).toBeLessThan(BOUND_MS + SLACK_MS);
  }, 30_000);

  it("gives a held call up with ioredis's give-up, when that comes before the bound", async () => {
    await closeApps();
    const patient = await startApp({
      prefix: randomPrefix(),
      options: { worker: false, connection: { url: server.url }, offlineTimeoutMs: 60_000 },
    });
    const connection = patient.app.get(RedisConnections).commands;
    await server.kill('SIGKILL');
    await waitFor(() => connection.status !== 'ready', { intervalMs: 1 });

    // Held (the connection is down); ioredis gives its queued commands up after 21 attempts, about 10 s.
    const outcome = await patient.client.enqueue('echo', 'held').then(
      () => undefined,
      (error: Error) => error,
    );

    // As a call given up from ioredis's own queue: typed, never sent, ioredis's error its cause.
    expect(outcome).toBeInstanceOf(RedisUnreachableError);
    expect((outcome as RedisUnreachableError).mayHaveRun).toBe(false);
    expect(((outcome as Error).cause as Error | undefined)?.name).toBe('MaxRetriesPerRequestError');
    expect(outcome?.message).toMatch(/never sent: nothing was written/);
  }, 30_000);

  it('rejects a call held behind a send written before the drop within offlineTimeoutMs of the drop', async () => {
    // Frozen: the first call is written and never answered, the second waits for it.
    await server.kill('SIGSTOP');
    const first = producer.client.enqueue('echo', 'first').catch((error: Error) => error);
    await waitFor(
      () =>
        commands.status === 'ready' &&
        (commands as unknown as { commandQueue: { length: number } }).commandQueue.length > 0,
      { intervalMs: 1 },
    );
    const second = producer.client.enqueue('echo', 'second').then(
      () => undefined,
      (error: Error) => error,
    );
    // The connection drops (a cut); the reconnect is accepted and its ready check never answered.
    commands.stream.destroy();
    const droppedAt = performance.now();
    await waitFor(() => commands.status === 'connect', { timeoutMs: 10_000, intervalMs: 5 });

    const outcome = await second;
    const waitedMs = performance.now() - droppedAt;

    expect((await first) as RedisUnreachableError).toMatchObject({ mayHaveRun: true });
    expect(outcome).toBeInstanceOf(RedisUnreachableError);
    expect((outcome as RedisUnreachableError).mayHaveRun).toBe(false);
    expect(waitedMs).toBeLessThan(BOUND_MS + SLACK_MS);
  }, 30_000);
});

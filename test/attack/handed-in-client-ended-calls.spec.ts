import { Redis } from 'ioredis';
import { RedisUnreachableError } from '../../lib';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { outcomeWithin } from '../utils/outcome-within';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { randomPrefix, waitFor } from '../utils/redis';
import { unanswered } from '../utils/written-commands';

/** Far past an at-once rejection: a call still pending by then waits for good. */
const SETTLED_WITHIN_MS = 5_000;
const CLOSED = 'Connection is closed.';

/*
 * A `Redis` client handed in as `connection` that ends on its own (its retryStrategy gave up)
 * never comes back. The module's calls on it, written and unanswered at the end or made after
 * it, were rejected with ioredis's bare `Connection is closed.`, as if the user had closed it; a
 * Cluster handed in already types them (topology/cluster/handed-in-cluster-ended.spec.ts). The
 * application's own commands keep ioredis's error, and so does everything on a client the user
 * closed by hand.
 */
describe('a Redis client handed in that ended', () => {
  let server: RedisServerHandle;
  let client: Redis;
  let giveUp: boolean;
  beforeEach(async () => {
    server = await startRedisServer();
    giveUp = false;
    client = new Redis(server.url, { retryStrategy: () => (giveUp ? null : 50), maxRetriesPerRequest: null });
    client.on('error', () => undefined);
  });
  afterEach(async () => {
    await closeApps();
    client.disconnect();
    await server.stop();
  });

  const producer = (): Promise<TestApp> =>
    startApp({ prefix: randomPrefix(), options: { worker: false, offlineTimeoutMs: 60_000, connection: client } });

  /**
   * Makes `calls` one after the other, each once the one before is held (`held`, a count of
   * commands, has grown: it wrote, or queued, its first command); resolves with their promises.
   */
  const holdCalls = async (held: () => number, ...calls: (() => Promise<unknown>)[]) => {
    const made: Promise<unknown>[] = [];
    for (const call of calls) {
      const before = held();
      const promise = call();
      promise.catch(() => undefined); // read by the spec
      made.push(promise);
      await waitFor(() => held() > before, { timeoutMs: 5_000, intervalMs: 1, description: 'the call held' });
    }
    return made;
  };
  const written = () => unanswered(client);
  const offlineQueued = () => (client as unknown as { offlineQueue: { length: number } }).offlineQueue.length;

  /** Expects `outcome` typed as a module's call the end gave up, `mayHaveRun` as given. */
  const expectGivenUpByTheEnd = (outcome: unknown, mayHaveRun: boolean) => {
    expect(outcome).toBeInstanceOf(RedisUnreachableError);
    expect(outcome).toMatchObject({ code: 'REDIS_UNREACHABLE', mayHaveRun });
    expect((outcome as Error).message).toMatch(
      mayHaveRun ? /ended and does not reconnect.*may have run/ : /ended and does not reconnect.*never sent/,
    );
  };
  /** Expects `outcome` to be ioredis's own refusal, untyped. */
  const expectIoredisError = (outcome: unknown) => {
    expect(outcome).not.toBeInstanceOf(RedisUnreachableError);
    expect((outcome as Error).message).toBe(CLOSED);
  };

  it("types the module's calls in flight at its end and after it; the application's keep ioredis's error", async () => {
    const t = await producer();
    await t.client.enqueue('echo', 'before', { key: 'k' });
    // Frozen: what is sent now is written and never answered.
    await server.kill('SIGSTOP');
    const [ownInFlight, ...moduleInFlight] = await holdCalls(
      written,
      () => client.get('application-key'),
      () => t.client.enqueue('echo', 'in flight', { key: 'k2' }),
      () => t.client.status('k'),
    );
    giveUp = true;
    await server.kill('SIGKILL');
    await waitFor(() => client.status === 'end', { timeoutMs: 10_000, description: 'the client ended' });

    for (const call of moduleInFlight) {
      const outcome = await outcomeWithin(call, SETTLED_WITHIN_MS);
      expectGivenUpByTheEnd(outcome, true);
      expect(((outcome as Error).cause as Error | undefined)?.message).toBe(CLOSED);
    }
    expectGivenUpByTheEnd(
      await outcomeWithin(t.client.enqueue('echo', 'after', { key: 'k3' }), SETTLED_WITHIN_MS),
      false,
    );
    for (const own of [ownInFlight, client.get('application-key')])
      expectIoredisError(await outcomeWithin(own, SETTLED_WITHIN_MS));
  }, 40_000);

  it("types the module's calls queued while it reconnected, never sent; the application's keep ioredis's error", async () => {
    const t = await producer();
    await t.client.enqueue('echo', 'before', { key: 'k' });
    await server.kill('SIGKILL');
    await waitFor(() => client.status !== 'ready', { timeoutMs: 10_000, intervalMs: 5 });
    const [ownQueued, moduleQueued] = await holdCalls(
      offlineQueued,
      () => client.get('application-key'),
      () => t.client.status('k'),
    );
    giveUp = true;
    await waitFor(() => client.status === 'end', { timeoutMs: 10_000, description: 'the client ended' });

    const outcome = await outcomeWithin(moduleQueued, SETTLED_WITHIN_MS);
    expectGivenUpByTheEnd(outcome, false);
    expect(((outcome as Error).cause as Error | undefined)?.message).toBe(CLOSED);
    expectIoredisError(await outcomeWithin(ownQueued, SETTLED_WITHIN_MS));
  }, 40_000);

  it("keeps ioredis's error for the module's calls on a client the user closed", async () => {
    const t = await producer();
    await t.client.enqueue('echo', 'before', { key: 'k' });
    await server.kill('SIGSTOP');
    const [inFlight] = await holdCalls(written, () => t.client.status('k'));
    client.disconnect();
    await waitFor(() => client.status === 'end', { timeoutMs: 10_000, description: 'the client ended' });

    for (const call of [inFlight, t.client.enqueue('echo', 'after', { key: 'k3' })])
      expectIoredisError(await outcomeWithin(call, SETTLED_WITHIN_MS));
  }, 40_000);
});

import type { Redis } from 'ioredis';
import { EnqueueManyError, RedisUnreachableError } from '../../lib';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { outcomeWithin } from '../utils/outcome-within';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { randomPrefix, waitFor } from '../utils/redis';
import { unanswered } from '../utils/written-commands';

/** Far past an at-once rejection: a call still pending by then waits for good. */
const SETTLED_WITHIN_MS = 5_000;

/** ioredis's offline queue (internal): calls made while the connection is down wait there. */
const offlineQueued = (redis: Redis) => (redis as unknown as { offlineQueue: { length: number } }).offlineQueue.length;

/*
 * On one node, a call made after the command connection ended for good is refused with a
 * RedisUnreachableError (connection-ended-calls.spec.ts). One already queued (the connection
 * down, reconnecting) or written and unanswered (in flight) when the end came was rejected with
 * ioredis's bare `Connection is closed.`: no code, no `mayHaveRun`, the written one (which Redis
 * may have run) and the one never sent alike. On a cluster both are typed already
 * (topology/cluster/cluster-ended-queued-calls.spec.ts, cluster-ended-calls.spec.ts).
 */
describe('a call queued or in flight when the command connection ends for good (one node)', () => {
  let server: RedisServerHandle;
  let giveUp: boolean;
  beforeEach(async () => {
    server = await startRedisServer();
    giveUp = false;
  });
  afterEach(async () => {
    await closeApps();
    await server.stop();
  });

  const producer = (): Promise<TestApp> =>
    startApp({
      prefix: randomPrefix(),
      options: {
        worker: false,
        // Far longer than the spec: the end, not the bound, settles the calls.
        offlineTimeoutMs: 60_000,
        connection: {
          url: server.url,
          // No give-up by retries: the retryStrategy's end is the only one.
          options: { retryStrategy: () => (giveUp ? null : 50), maxRetriesPerRequest: null },
        },
      },
    });

  /** Expects `outcome` typed as a call the end gave up: `mayHaveRun` as given, ioredis's error its cause. */
  const expectGivenUpByTheEnd = (outcome: unknown, mayHaveRun: boolean) => {
    expect(outcome).toBeInstanceOf(RedisUnreachableError);
    expect(outcome).toMatchObject({ code: 'REDIS_UNREACHABLE', mayHaveRun });
    const { message, cause } = outcome as Error;
    expect(message).toMatch(/ended and does not reconnect \(its retryStrategy gave up/);
    expect(message).toMatch(mayHaveRun ? /sent before the connection dropped.*may have run/ : /never sent/);
    expect((cause as Error | undefined)?.message).toBe('Connection is closed.');
  };

  /**
   * Makes each call of `t`, one after the other, each once the one before is held (`held`, a
   * count of commands, has grown: it wrote, or queued, its first command of its own). `plain`: an
   * unkeyed enqueue too (held by the group commit, not ioredis, while the connection is down).
   * An enqueue with a key or a delay, and findTask, are left out: their first command, the
   * partition layout's read, is the cancel's while that one is pending. enqueueMany's outcome is
   * its one item's error.
   */
  const holdCalls = async (t: TestApp, held: () => number, { plain = false } = {}) => {
    const calls: Record<string, () => Promise<unknown>> = {
      ...(plain ? { enqueue: () => t.client.enqueue('echo', 'plain') } : {}),
      cancel: () => t.client.cancel('k'),
      status: () => t.client.status('k'),
      enqueueMany: () =>
        t.client.enqueueMany([{ name: 'echo', payload: 1 }]).catch((error: unknown) => {
          throw error instanceof EnqueueManyError ? error.failed[0]?.error : error;
        }),
    };
    const made: Record<string, Promise<unknown>> = {};
    for (const [name, call] of Object.entries(calls)) {
      const before = held();
      made[name] = call();
      made[name].catch(() => undefined); // read by the spec
      await waitFor(() => held() > before, { timeoutMs: 5_000, intervalMs: 1, description: `${name} held` });
    }
    return made;
  };

  const expectEachGivenUpByTheEnd = async (calls: Record<string, Promise<unknown>>, mayHaveRun: boolean) => {
    for (const [name, call] of Object.entries(calls)) {
      const outcome = await outcomeWithin(call, SETTLED_WITHIN_MS);
      expect({ name, outcome }).toEqual({ name, outcome: expect.any(RedisUnreachableError) });
      expectGivenUpByTheEnd(outcome, mayHaveRun);
    }
  };

  it('rejects a call written and unanswered with RedisUnreachableError that may have run', async () => {
    const t = await producer();
    await t.client.enqueue('echo', 'keyed', { key: 'k' });
    const commands = t.app.get(RedisConnections).commands;
    // Frozen: what is sent now is written and never answered.
    await server.kill('SIGSTOP');
    const calls = await holdCalls(t, () => unanswered(commands), { plain: true });
    giveUp = true;
    await server.kill('SIGKILL');
    await waitFor(() => commands.status === 'end', { timeoutMs: 10_000, description: 'the connection ended' });

    await expectEachGivenUpByTheEnd(calls, true);
  }, 40_000);

  it('rejects a call in the offline queue with RedisUnreachableError, never sent', async () => {
    const t = await producer();
    await t.client.enqueue('echo', 'keyed', { key: 'k' });
    const commands = t.app.get(RedisConnections).commands;
    await server.kill('SIGKILL');
    await waitFor(() => commands.status !== 'ready', { timeoutMs: 10_000, intervalMs: 5 });
    const calls = await holdCalls(t, () => offlineQueued(commands));
    giveUp = true;
    await waitFor(() => commands.status === 'end', { timeoutMs: 10_000, description: 'the connection ended' });

    await expectEachGivenUpByTheEnd(calls, false);
  }, 40_000);
});

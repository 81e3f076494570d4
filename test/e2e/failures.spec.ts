import { TaskFailedError, TaskTimeoutError } from '../../lib';
import { FLAKY_BACKOFF_MS } from '../fixtures/probe.tasks';
import { closeApps, expectCounters, startApp, type TestApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

/** Dead-letter entries as field maps. */
async function deadLetters(t: TestApp, redis: ReturnType<typeof createRedis>): Promise<Record<string, string>[]> {
  const entries = await redis.xrange(t.keys.deadLetter, '-', '+');
  return entries.map(([, fields]) =>
    Object.fromEntries(fields.flatMap((_, i) => (i % 2 ? [] : [[fields[i], fields[i + 1]]]))),
  );
}

async function failureOf(promise: Promise<unknown>): Promise<TaskFailedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TaskFailedError);
  return error as TaskFailedError;
}

// Failing handlers: retries with backoff, the dead-letter stream, timeouts, odd throws.
describe('failing tasks', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let t: TestApp;

  beforeEach(async () => {
    await cleanupPrefix(redis, prefix);
    t = await startApp({ prefix });
  });
  afterEach(closeApps);
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it('retries with exponential backoff and succeeds on attempt N, under the same task id', async () => {
    const startedAt: number[] = [];
    t.probe.on('flaky', (_payload, ctx) => {
      startedAt.push(Date.now());
      if (ctx.attempt < 3) throw new Error(`not yet (${ctx.attempt})`);
      return `done on ${ctx.attempt}`;
    });
    const handle = await t.client.enqueue('flaky', null);

    await expect(handle.result({ timeoutMs: 10_000 })).resolves.toBe('done on 3');
    const runs = t.probe.runsOf('flaky');
    expect(runs.map((r) => r.ctx.attempt)).toEqual([1, 2, 3]);
    expect(new Set(runs.map((r) => r.ctx.id))).toEqual(new Set([handle.id]));
    // Lower bounds only (jitter off): attempt n waits delayMs * 2^(n-1) before attempt n+1.
    expect(startedAt[1] - startedAt[0]).toBeGreaterThanOrEqual(FLAKY_BACKOFF_MS - 5);
    expect(startedAt[2] - startedAt[1]).toBeGreaterThanOrEqual(2 * FLAKY_BACKOFF_MS - 5);
    await expectCounters(t.events, { completed: 1, failed: 2, 'retry-scheduled': 2, 'dead-lettered': 0 });
    expect(await deadLetters(t, redis)).toEqual([]);
  });

  it('dead-letters a task after maxAttempts with its reason, and result() rejects with TaskFailedError', async () => {
    t.probe.on('doomed', (_p, ctx) => {
      throw new RangeError(`broken ${ctx.attempt}`);
    });
    const handle = await t.client.enqueue('doomed', { order: 7 });

    const error = await failureOf(handle.result({ timeoutMs: 10_000 }));
    expect(error).toMatchObject({ taskId: handle.id, causeName: 'RangeError', message: 'broken 2' });
    expect(t.probe.runsOf('doomed').map((r) => r.ctx.attempt)).toEqual([1, 2]);
    const [letter, ...more] = await deadLetters(t, redis);
    expect(more).toEqual([]);
    expect(letter).toMatchObject({ id: handle.id, n: 'doomed', p: '{"order":7}', a: '2' });
    expect(letter.reason).toMatch(/failed 2 time\(s\).*RangeError: broken 2/);
    await expectCounters(t.events, { completed: 0, 'retry-scheduled': 1, 'dead-lettered': 1 });
    // Nothing of it is left to run.
    await expect(redis.xlen(t.keys.stream)).resolves.toBe(0);
    await expect(redis.zcard(t.keys.delayed)).resolves.toBe(0);
  });

  it('aborts ctx.signal with a TaskTimeoutError at timeoutMs and fails the attempt', async () => {
    let reason: unknown;
    t.probe.on(
      'slow',
      (_p, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            reason = ctx.signal.reason;
            resolve('too late');
          });
        }),
    );
    const handle = await t.client.enqueue('slow', null);

    const error = await failureOf(handle.result({ timeoutMs: 5_000 }));
    expect(reason).toBeInstanceOf(TaskTimeoutError);
    expect(error.causeName).toBe('TaskTimeoutError');
    expect(error.message).toMatch(/exceeded its timeout of 150 ms/);
    const [letter] = await deadLetters(t, redis);
    expect(letter.reason).toMatch(/TaskTimeoutError/);
  });

  it.each([
    ['a string', 'plain string', /NonError: plain string/],
    ['null', null, /NonError: null/],
  ])('retries then dead-letters a handler that throws %s, with a reason', async (_what, thrown, reason) => {
    t.probe.on('doomed', () => {
      throw thrown;
    });
    const handle = await t.client.enqueue('doomed', null);

    const error = await failureOf(handle.result({ timeoutMs: 10_000 }));
    expect(error.causeName).toBe('NonError');
    expect(t.probe.runsOf('doomed')).toHaveLength(2);
    const [letter] = await deadLetters(t, redis);
    expect(letter.reason).toMatch(reason);
  });

  it('keeps consuming after a failure: the next task runs', async () => {
    t.probe.on('once', () => {
      throw new Error('first fails');
    });
    const failed = await t.client.enqueue('once', null);
    const next = await t.client.enqueue('echo', 'still here');

    await expect(next.result()).resolves.toBe('still here');
    await failureOf(failed.result());
  });
});

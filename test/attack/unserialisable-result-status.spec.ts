import { TaskFailedError } from '../../lib';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

/**
 * Attack on "status() never contradicts result()": a handler whose return value does not
 * serialise as JSON (a BigInt, a circular object) had its run completed with a ResultError
 * failure stored as its result. result() rejected with TaskFailedError while status(key) said
 * `completed` (the key state) and the run counted as completed, no attempt spent: the answers
 * disagreed, and a failure nobody saw as one was never retried nor dead-lettered.
 */
describe('attack: a handler result that does not serialise', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let t: TestApp;

  beforeEach(async () => {
    t = await startApp({ prefix });
  });
  afterEach(closeApps);
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it('fails the run: status(key) and result() both say failed, with the ResultError', async () => {
    t.probe.on('once', () => ({ total: 10n }));
    const handle = await t.client.enqueue('once', 1, { key: 'big' });
    const error = await handle.result({ timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect((error as TaskFailedError).causeName).toBe('ResultError');
    const status = await t.client.status('big');
    expect(status?.state).toBe('failed');
    expect(status?.error).toMatch(/not serialisable/);
    // Its last attempt failed: dead-lettered, as any other.
    expect(await redis.xlen(t.keys.deadLetter)).toBe(1);
  });

  it('dead-letters it at once, never retried: the handler ran to its end, a retry would repeat it', async () => {
    // flaky: maxAttempts 4.
    t.probe.on('flaky', () => ({ total: 10n }));
    const handle = await t.client.enqueue('flaky', 'big', { key: 'retryable' });
    await expect(handle.result({ timeoutMs: 5_000 })).rejects.toBeInstanceOf(TaskFailedError);
    await expect(t.client.status('retryable')).resolves.toMatchObject({ state: 'failed', attempt: 1 });
    const [[, fields]] = (await redis.xrange(t.keys.deadLetter, '-', '+')) as [string, string[]][];
    expect(fields[fields.indexOf('reason') + 1]).toMatch(/^returned a value that cannot be stored: ResultError/);
    // Well past the first backoff (250 ms): no second run.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(t.probe.runsOf('flaky')).toHaveLength(1);
  });

  it('fails an unkeyed run that returns a circular object, the same way', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    t.probe.on('once', () => circular);
    const handle = await t.client.enqueue('once', 2);
    await expect(handle.result({ timeoutMs: 5_000 })).rejects.toBeInstanceOf(TaskFailedError);
    await expect(handle.status()).resolves.toMatchObject({ state: 'failed' });
  });
});

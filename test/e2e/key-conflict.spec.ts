import { KeyConflictError } from '../../lib';
import { Latch } from '../utils/helpers';
import { closeApps, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

/**
 * Issue 15 item 9: keys were per queue, not per task name: enqueue('report', { key }) returned the
 * live run of 'email' under that key, with a handle named 'report' and the email's result, and
 * the report never ran. A key names one run of one task: a mismatch is a typed error.
 */
describe('a key held by another task', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  afterEach(async () => {
    await closeApps();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  it('enqueue and replace of another task under a live key throw KeyConflictError and write nothing', async () => {
    const t = await startApp({ prefix });
    const running = new Latch();
    t.probe.on('once', () => running.wait());
    const email = await t.client.enqueue('once', 'email', { key: 'user:42' });
    await waitFor(() => t.probe.runs.length === 1, { description: 'the first task running' });
    const streamBefore = await redis.xlen(t.keys.stream);

    const conflict = t.client.enqueue('echo', 'report', { key: 'user:42' });
    await expect(conflict).rejects.toBeInstanceOf(KeyConflictError);
    await expect(conflict).rejects.toMatchObject({
      code: 'KEY_CONFLICT',
      key: 'user:42',
      taskName: 'echo',
      liveTaskName: 'once',
      liveTaskId: email.id,
    });
    await expect(t.client.replace('echo', 'report', { key: 'user:42' })).rejects.toBeInstanceOf(KeyConflictError);
    expect(await redis.xlen(t.keys.stream)).toBe(streamBefore);
    expect(await t.client.status('user:42')).toMatchObject({ id: email.id, state: 'running' });

    // Once the key's run settled, another task may use it.
    running.open();
    await email.result({ timeoutMs: 5_000 });
    const report = await t.client.enqueue('echo', 'report', { key: 'user:42' });
    expect(report.created).toBe(true);
    await expect(report.result({ timeoutMs: 5_000 })).resolves.toBe('report');
  });
});

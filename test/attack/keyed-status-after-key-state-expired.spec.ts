import { HostileTaskModule } from '../fixtures/hostile-tasks';
import { closeApps, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

/*
 * Attack on "status() tells where a task stands": a keyed handle's status() read only its key's
 * state, which lasts the module's resultTtlMs, while a task's own resultTtlMs may keep its result
 * longer. Once the key state expired, status() answered null ("nothing known") for a task whose
 * result() still resolved with its value. It now reads the task's stored result then.
 */
describe("status() of a keyed task whose result outlives its key's state", () => {
  const redis = createRedis();
  let prefix: string;
  beforeEach(() => {
    prefix = randomPrefix();
  });
  afterEach(async () => {
    await closeApps();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  it('reads completed from the stored result, as result() does', async () => {
    const app = await startApp({
      prefix,
      options: { resultTtlMs: 1_000 },
      imports: [HostileTaskModule.register('kept', { resultTtlMs: 60_000 })],
    });
    const handle = await app.client.enqueue('kept', 'value', { key: 'k' });
    await expect(handle.result({ timeoutMs: 10_000 })).resolves.toBe('value');
    await waitFor(async () => (await redis.exists(app.keys.keyState('k'))) === 0, {
      timeoutMs: 10_000,
      description: "the key's state expired",
    });

    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('value');
    await expect(handle.status()).resolves.toMatchObject({ state: 'completed', id: handle.id, key: 'k' });
    // The key itself has no run to report any more.
    await expect(app.client.status('k')).resolves.toBeNull();
  });

  it('still null when nothing of the task is kept either', async () => {
    const app = await startApp({ prefix, options: { resultTtlMs: 1_000 } });
    const handle = await app.client.enqueue('echo', 'value', { key: 'k' });
    await expect(handle.result({ timeoutMs: 10_000 })).resolves.toBe('value');
    await waitFor(async () => (await redis.exists(app.keys.keyState('k'), app.keys.result(handle.id))) === 0, {
      timeoutMs: 10_000,
      description: 'the key state and the result expired',
    });
    await expect(handle.status()).resolves.toBeNull();
  });
});

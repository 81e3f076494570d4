import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

/**
 * Attack on the "<= 20 bytes per drained task" change: complete.lua stores nothing for a keyed
 * run whose handler returned nothing (only runs with field r keep a void result), and result()
 * then answers from the key state, which names the key's LATEST run. Once a later run of the key
 * exists, the completed run's result() rejects with TaskSupersededError, although it completed
 * and its result is within resultTtlMs. The README says only unkeyed void runs store nothing.
 */
describe('attack: result() of a completed keyed run after the next run of its key', () => {
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

  it('a void keyed run that completed resolves, after a later enqueue of its key', async () => {
    t.probe.on('echo', () => undefined);
    const first = await t.client.enqueue('echo', 1, { key: 'k' });
    await expect(first.result({ timeoutMs: 5_000 })).resolves.toBeUndefined();
    const second = await t.client.enqueue('echo', 2, { key: 'k' });
    expect(second.created).toBe(true);
    await expect(second.result({ timeoutMs: 5_000 })).resolves.toBeUndefined();

    // Completed, within resultTtlMs: not superseded.
    await expect(first.result({ timeoutMs: 2_000 })).resolves.toBeUndefined();
  });
});

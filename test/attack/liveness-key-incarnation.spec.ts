import { ConsumerHost } from '../../lib/consumer/consumer.host';
import { QueueKeys } from '../../lib/redis/keys';
import { buildApp, closeHostileApps } from '../fixtures/hostile-tasks';
import { testOptions } from '../fixtures/test-app';
import { closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

/*
 * A worker's settle proves a run its own through its liveness key's value (see Settler): the
 * value must change whenever the key was gone, however briefly. A heartbeat that wrote the same
 * value back would let a worker whose key lapsed (and whose run another worker took over) count
 * the other worker's settle as its own.
 */
describe('attack: a liveness key that was gone', () => {
  const redis = createRedis();
  afterEach(closeHostileApps);
  afterAll(closeAll);

  it('comes back with a value it never held, and is renewed without changing it', async () => {
    const prefix = randomPrefix();
    const app = await buildApp(testOptions(prefix, { leaseMs: 1_000, heartbeatIntervalMs: 100 }));
    await app.init();
    const alive = new QueueKeys(prefix, 'default').alive(app.moduleRef.get(ConsumerHost).consumerName);
    const held = new Set<string>();
    const first = await redis.get(alive);
    expect(first).toEqual(expect.any(String));
    held.add(first!);
    // Renewals keep the value: the key has existed without a break.
    await new Promise((r) => setTimeout(r, 350));
    expect(await redis.get(alive)).toBe(first);
    for (let i = 0; i < 3; i++) {
      const before = await redis.get(alive);
      await redis.del(alive);
      await waitFor(async () => (await redis.exists(alive)) === 1, { description: 'the key written again' });
      const after = await redis.get(alive);
      expect(after).not.toBe(before);
      expect(held.has(after!)).toBe(false);
      held.add(after!);
    }
  }, 20_000);
});

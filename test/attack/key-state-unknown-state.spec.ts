import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * status(key) and schedules() read a key's run state (field state) from its key state hash,
 * which anyone with Redis access can write, and handed it on as a TaskState whatever it was:
 * after `HSET <key state> state x`, status(key).state was 'x' and schedules() listed the key in
 * state 'x' (so was '__proto__', or a text of 10 000 characters), none of the states the type
 * promises an app switching on it. A state that is not one a key's run can be (queued, delayed,
 * running, completed, failed, cancelled) now reads as no run: status(key) is null and
 * schedules() skips the key, as for a state that is gone. A review finding; the spec failed.
 */
describe('attack: a key state whose run state is not one', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);

  const HOSTILE = ['x', 'pending', '__proto__', 'Delayed', 'x'.repeat(10_000)];

  it.each(HOSTILE.map((s) => [s.slice(0, 12), s]))('state %p: status(key) is null', async (_shown, hostile) => {
    const key = `k:${hostile.slice(0, 12)}`;
    await t.client.enqueue('echo', 1, { key, delayMs: 60_000 });
    await redis.hset(t.keys.keyState(key), 'state', hostile);
    await expect(t.client.status(key)).resolves.toBeNull();
  });

  it.each(HOSTILE.map((s) => [s.slice(0, 12), s]))('state %p: schedules() skips the key', async (_shown, hostile) => {
    const key = `s:${hostile.slice(0, 12)}`;
    await t.client.schedule('echo', 1, { key: `${key}:a`, every: 60_000 });
    await t.client.schedule('echo', 2, { key: `${key}:b`, every: 60_000 });
    await redis.hset(t.keys.keyState(`${key}:a`), 'state', hostile);
    const listed = (await t.client.schedules({ limit: 1_000 })).items.filter((s) => s.key.startsWith(`${key}:`));
    expect(listed.map((s) => [s.key, s.state])).toEqual([[`${key}:b`, 'delayed']]);
  });

  it('each state a run can be reads as itself (control)', async () => {
    for (const state of ['queued', 'delayed', 'running', 'completed', 'failed', 'cancelled']) {
      await t.client.enqueue('echo', 1, { key: `c:${state}`, delayMs: 60_000 });
      await redis.hset(t.keys.keyState(`c:${state}`), 'state', state);
      expect((await t.client.status(`c:${state}`))?.state).toBe(state);
    }
  });
});

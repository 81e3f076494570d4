import { startApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { keysMatching, waitFor } from '../utils/redis';

/**
 * A runtime schedule that replace() ended leaves the queue's schedule index with it. The index
 * entry stayed: nothing but an unschedule() or cancel() of that very key removed it, and nobody
 * unschedules a key that is no schedule any more (schedules() no longer lists it), so every key
 * scheduled and then replaced stayed in the index for good, after its state had expired.
 */
describe('the schedule index after replace() ended a schedule', () => {
  const env = useProbeApps();

  it('holds no entry for the keys whose schedules replace() ended, once they settled', async () => {
    const t = await startApp({ prefix: env.prefix, options: { resultTtlMs: 300 } });
    const keys = Array.from({ length: 20 }, (_, i) => `report-${i}`);
    for (const key of keys) await t.client.schedule('echo', key, { key, every: 60_000 });
    expect(await env.redis.zcard(t.keys.schedules)).toBe(keys.length);

    for (const key of keys) await (await t.client.replace('echo', 'once', { key })).result();
    expect((await t.client.schedules()).items).toEqual([]);
    // The one-off runs' states expire after resultTtlMs: what stays then stays for good.
    await waitFor(async () => (await keysMatching(env.redis, `${t.keys.keyStatePrefix}*`)).length === 0, {
      description: 'the key states expired',
    });
    expect(await env.redis.zrange(t.keys.schedules, 0, -1)).toEqual([]);
  });

  it('unschedule() after the replace() still answers false and touches nothing', async () => {
    const t = await startApp({ prefix: env.prefix, options: { resultTtlMs: 300 } });
    await t.client.schedule('echo', 'x', { key: 'weekly', every: 60_000 });
    await (await t.client.replace('echo', 'once', { key: 'weekly' })).result();
    await expect(t.client.unschedule('weekly')).resolves.toBe(false);
    await expect(t.client.status('weekly')).resolves.toMatchObject({ state: 'completed' });
  });
});

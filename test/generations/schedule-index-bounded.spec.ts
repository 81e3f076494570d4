import { startApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { keysMatching, waitFor } from '../utils/redis';

/**
 * A runtime schedule that replace() ended leaves the queue's schedule index with it. The index
 * entry stayed: nothing but an unschedule() or cancel() of that very key removed it, and nobody
 * unschedules a key that is no schedule any more (schedules() no longer lists it), so every key
 * scheduled and then replaced stayed in the index for good, after its state had expired.
 */
describe('the schedule index after replace() or remove(id) ended a schedule', () => {
  const env = useProbeApps();

  it('holds no entry for the keys whose schedules replace() ended, once they settled', async () => {
    const t = await startApp({ prefix: env.prefix, options: { resultTtlMs: 1_000 } });
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
    const t = await startApp({ prefix: env.prefix, options: { resultTtlMs: 1_000 } });
    await t.client.schedule('echo', 'x', { key: 'weekly', every: 60_000 });
    await (await t.client.replace('echo', 'once', { key: 'weekly' })).result();
    await expect(t.client.unschedule('weekly')).resolves.toBe(false);
    await expect(t.client.status('weekly')).resolves.toMatchObject({ state: 'completed' });
  });

  /**
   * remove(id) of a runtime schedule's waiting run ends the key as a cancel does (remove-task.lua),
   * but left the schedule in place: its stored schedule kept the cancelled key state without
   * expiry, and its index entry stayed, so schedules() listed it for good, cancelled, its
   * nextRunAt in the past, a schedule that never fired again.
   */
  it('remove(id) of a schedule run ends the schedule as cancel(key) does: out of the index, its state expires', async () => {
    const t = await startApp({ prefix: env.prefix, options: { resultTtlMs: 1_000 } });
    const keys = Array.from({ length: 5 }, (_, i) => `digest-${i}`);
    for (const key of keys) {
      const run = await t.client.schedule('echo', key, { key, every: 60_000 });
      await t.client.remove(run.id);
      await expect(run.result()).rejects.toMatchObject({ name: 'TaskCancelledError' });
    }
    expect((await t.client.schedules()).items).toEqual([]);
    await waitFor(async () => (await keysMatching(env.redis, `${t.keys.keyStatePrefix}*`)).length === 0, {
      description: 'the key states expired',
    }).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${(await keysMatching(env.redis, `${t.keys.keyStatePrefix}*`)).length} left`);
    });
    expect(await env.redis.zrange(t.keys.schedules, 0, -1)).toEqual([]);
  });
});

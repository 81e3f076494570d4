import { startApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';

/**
 * Attack on the schedule index's new writers: replace() (enqueue.lua) and remove(id)
 * (remove-task.lua) of a runtime schedule's key take the key out of the partition's schedule
 * index, with a ZREM that came after their first writes. Anyone with Redis access can make the
 * index a key of another type (`SET <prefix>:schedules x`); Redis does not roll a script back,
 * so the ZREM's WRONGTYPE failed the call half done: replace() had removed the schedule's waiting
 * run, drawn a generation and dropped the stored schedule, and wrote no run (the schedule and its
 * run lost, the caller told only of an error); remove(id) had deleted the run and marked the key
 * cancelled without telling its waiters, its answer unrecorded. The index is now looked up
 * before the first write: the call is refused with nothing written.
 */
describe('attack: the schedule index of another type when a replace() or remove(id) ends a schedule', () => {
  const env = useProbeApps();

  async function scheduledThenIndexBroken() {
    const t = await startApp({ prefix: env.prefix, options: { worker: false } });
    const run = await t.client.schedule('echo', 'tick', { key: 'weekly', every: 60_000 });
    await env.redis.del(t.keys.schedules);
    await env.redis.set(t.keys.schedules, 'x');
    const before = await env.redis.hgetall(t.keys.keyState('weekly'));
    return { t, run, before };
  }

  it('replace() is refused with nothing written: the schedule and its waiting run stay', async () => {
    const { t, run, before } = await scheduledThenIndexBroken();
    await expect(t.client.replace('echo', 'once', { key: 'weekly' })).rejects.toThrow(/WRONGTYPE/);
    expect(await env.redis.hgetall(t.keys.keyState('weekly'))).toEqual(before);
    await env.redis.del(t.keys.schedules);
    await expect(t.client.status('weekly')).resolves.toMatchObject({ id: run.id });
    expect(await env.redis.zcard(t.keys.delayed)).toBe(1);
  });

  it('remove(id) is refused with nothing written: the run stays, and a resend after the repair removes it', async () => {
    const { t, run, before } = await scheduledThenIndexBroken();
    await expect(t.client.remove(run.id)).rejects.toThrow(/WRONGTYPE/);
    expect(await env.redis.hgetall(t.keys.keyState('weekly'))).toEqual(before);
    expect(await env.redis.zcard(t.keys.delayed)).toBe(1);
    await env.redis.del(t.keys.schedules);
    await t.client.remove(run.id);
    await expect(run.result({ timeoutMs: 2_000 })).rejects.toMatchObject({ name: 'TaskCancelledError' });
    expect(await env.redis.zcard(t.keys.delayed)).toBe(0);
  });
});

import type { Redis } from 'ioredis';
import { TaskFailedError } from '../../lib';
import type { QueueKeys } from '../../lib/redis/keys';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp, type TestApp } from '../fixtures/test-app';

/** What a redrive of task `id` may have written: its result key, its key's state, the dead letters. */
async function written(redis: Redis, keys: QueueKeys, id: string, key = '') {
  return {
    result: await redis.get(keys.result(id)),
    state: key ? await redis.hgetall(keys.keyState(key)) : {},
    dead: await redis.xrange(keys.deadLetter, '-', '+'),
  };
}

/**
 * Attack on redrive.lua (redrive(), redriveAll()): before its XADD of the task back into the
 * stream, it marked an unkeyed task's result key not settled yet (SET of the pending marker, over
 * its stored failure) or drew a keyed task's generation into its key's state. Redis does not
 * roll a script back: a stream of another type (anyone with Redis access can make one) failed
 * the XADD after those writes, so the caller was told only of an error while the dead letter,
 * still there, had lost what its result() answers. Now the stream is read before the first write.
 */
describe('attack: a redrive refused after its first write', () => {
  const env = useProbeApps();

  /** Task `once` (it throws) dead-lettered, its worker closed, and the stream made a string. */
  async function deadThenStreamBroken(key?: string): Promise<{ t: TestApp; id: string; deadLetterId: string }> {
    env.probe.on('once', () => {
      throw new Error('boom');
    });
    const worker = await startApp({ prefix: env.prefix, probe: env.probe });
    const h = await worker.client.enqueue('once', 'x', key ? { key } : {});
    await expect(h.result({ timeoutMs: 5_000 })).rejects.toBeInstanceOf(TaskFailedError);
    await worker.close();
    const t = await startApp({ prefix: env.prefix, options: { worker: false } });
    const [dead] = (await t.client.list('dead')).tasks;
    await env.redis.rename(t.keys.stream, `${t.keys.stream}:aside`);
    await env.redis.set(t.keys.stream, 'x');
    return { t, id: h.id, deadLetterId: dead.deadLetterId! };
  }

  it('an unkeyed dead letter: its result still answers its failure', async () => {
    const { t, id, deadLetterId } = await deadThenStreamBroken();
    const before = await written(env.redis, t.keys, id);
    await expect(t.client.redrive(deadLetterId)).rejects.toThrow(/^WRONGTYPE/);
    expect(await written(env.redis, t.keys, id)).toEqual(before);
    await env.redis.del(t.keys.stream);
    await env.redis.rename(`${t.keys.stream}:aside`, t.keys.stream);
    await expect(t.client.handle(id).result({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(TaskFailedError);
  });

  it("a keyed dead letter: its key's state and generation are left as they were", async () => {
    const { t, id, deadLetterId } = await deadThenStreamBroken('k');
    const before = await written(env.redis, t.keys, id, 'k');
    await expect(t.client.redrive(deadLetterId)).rejects.toThrow(/^WRONGTYPE/);
    expect(await written(env.redis, t.keys, id, 'k')).toEqual(before);
    // status() reported a generation no run of the key had.
    await expect(t.client.status('k')).resolves.toMatchObject({ id, state: 'failed', generation: 1 });
  });
});

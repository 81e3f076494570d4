import { TaskTimeoutError } from '../../lib';
import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * Attack on the type of a key's state through QueueClient: anyone who can write to Redis can make
 * a key state a string (`SET <key state> x`). Each call on that key raised the script's (or the
 * read's) WRONGTYPE as a raw ReplyError. The settle scripts read such a state as none, as an
 * expired one: so does every call here. One that writes a fresh key's state writes it in place of
 * the string; one that writes nothing to a key without state leaves the string as it is.
 */
describe('attack: QueueClient on a key whose state is not a hash', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);

  /** A key whose state is a string, after a run of `name` was queued under it (delayed when `delayMs`). */
  async function hostileKey(key: string, delayMs = 0, name = 'echo') {
    const handle = await t.client.enqueue(name, 1, { key, delayMs });
    await redis.del(t.keys.keyState(key));
    await redis.set(t.keys.keyState(key), 'x');
    return handle;
  }

  it('enqueue() adds a run, as to a key without state', async () => {
    const old = await hostileKey('enqueue');
    const handle = await t.client.enqueue('echo', 2, { key: 'enqueue' });
    expect(handle.id).not.toBe(old.id);
    expect(handle.generation).toBeGreaterThan(old.generation);
    expect(await t.client.status('enqueue')).toMatchObject({ state: 'queued', id: handle.id });
  });

  it('replace() adds a run, as to a key without state', async () => {
    const old = await hostileKey('replace', 60_000);
    const handle = await t.client.replace('echo', 2, { key: 'replace' });
    expect(handle.generation).toBeGreaterThan(old.generation);
    expect(await t.client.status('replace')).toMatchObject({ state: 'queued', id: handle.id });
  });

  it("enqueueMany() adds that key's run and every other item", async () => {
    await hostileKey('many');
    const handles = await t.client.enqueueMany([
      { name: 'echo', payload: 1, options: { key: 'many' } },
      { name: 'echo', payload: 2, options: { key: 'many-other' } },
      { name: 'echo', payload: 3 },
    ]);
    expect(handles).toHaveLength(3);
    expect(await t.client.status('many')).toMatchObject({ state: 'queued', id: handles[0].id });
  });

  it('cancel() finds nothing live to cancel and leaves the value', async () => {
    await hostileKey('cancel');
    expect(await t.client.cancel('cancel')).toBe(false);
    expect(await redis.get(t.keys.keyState('cancel'))).toBe('x');
  });

  it("unschedule() ends the key's schedule (its index entry) and leaves the value", async () => {
    await t.client.schedule('echo', 1, { key: 'unschedule', every: 60_000 });
    await redis.del(t.keys.keyState('unschedule'));
    await redis.set(t.keys.keyState('unschedule'), 'x');
    expect(await t.client.unschedule('unschedule')).toBe(true);
    expect(await redis.zscore(t.keys.schedules, 'unschedule')).toBeNull();
    expect(await redis.get(t.keys.keyState('unschedule'))).toBe('x');
  });

  it('schedule() puts a chain in place, as on a key without state', async () => {
    await t.client.schedule('echo', 1, { key: 'schedule', every: 60_000 });
    await redis.del(t.keys.keyState('schedule'));
    await redis.set(t.keys.keyState('schedule'), 'x');
    const handle = await t.client.schedule('echo', 2, { key: 'schedule', every: 30_000 });
    expect(await t.client.status('schedule')).toMatchObject({ state: 'delayed', id: handle.id });
    expect(await redis.zscore(t.keys.schedules, 'schedule')).toBe('0');
  });

  it('status() reads no state', async () => {
    const handle = await hostileKey('status');
    expect(await t.client.status('status')).toBeNull();
    expect(await handle.status()).toBeNull();
  });

  it('result() reads no state: it waits for the entry, as for a key whose state expired', async () => {
    const handle = await hostileKey('result');
    await expect(handle.result({ timeoutMs: 50 })).rejects.toBeInstanceOf(TaskTimeoutError);
  });

  it("schedules() skips that key's schedule and lists the others", async () => {
    await t.client.schedule('echo', 1, { key: 'list-a', every: 60_000 });
    await t.client.schedule('echo', 1, { key: 'list-b', every: 60_000 });
    await redis.del(t.keys.keyState('list-a'));
    await redis.set(t.keys.keyState('list-a'), 'x');
    const page = await t.client.schedules();
    expect(page.items.map((s) => s.key)).toContain('list-b');
    expect(page.items.map((s) => s.key)).not.toContain('list-a');
  });

  it('remove() removes the task and leaves the value', async () => {
    const handle = await hostileKey('remove', 60_000);
    await t.client.remove(handle.id);
    expect((await redis.zrange(t.keys.delayed, 0, -1)).filter((m) => m.includes(handle.id))).toEqual([]);
    expect(await redis.get(t.keys.keyState('remove'))).toBe('x');
  });

  /** A dead letter of task `id` of 'echo' under `key`, as dead-letter.lua writes one. */
  function deadLetter(id: string, key: string): Promise<string | null> {
    return redis.xadd(
      t.keys.deadLetter,
      '*',
      'id',
      id,
      'n',
      'echo',
      'p',
      '1',
      'a',
      '1',
      'k',
      key,
      'g',
      '1',
      'reason',
      'poison',
    );
  }

  it('redrive() puts the task back, as under a key without state', async () => {
    await redis.set(t.keys.keyState('redrive'), 'x');
    const deadId = (await deadLetter('t-redrive', 'redrive'))!;
    expect(await t.client.redrive(deadId)).not.toBe('');
    expect(await t.client.status('redrive')).toMatchObject({ state: 'queued', id: 't-redrive' });
  });

  it('redriveAll() redrives that dead letter and the ones after it', async () => {
    await redis.set(t.keys.keyState('redrive-all'), 'x');
    await deadLetter('t-redrive-all', 'redrive-all');
    await deadLetter('t-redrive-after', 'redrive-after');
    expect(await t.client.redriveAll()).toEqual({ redriven: 2, refused: [] });
    expect(await t.client.status('redrive-after')).toMatchObject({ state: 'queued', id: 't-redrive-after' });
  });
});

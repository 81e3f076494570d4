import type { TaskContext } from '../../lib';
import { periodicKey } from '../../lib';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { CRON_FIRES } from '../../lib/task/schedule';
import { Latch } from '../utils/helpers';
import type { TestApp } from '../fixtures/test-app';
import { waitFor } from '../utils/redis';
import { useGenerationApps } from './generation-apps';

/** Holds the next TIME command of `app`'s connection (schedule() reads Redis's clock first) until released. */
function holdNextClockRead(app: TestApp): { reached: Latch; release: Latch } {
  const redis = app.app.get(RedisConnections).commands;
  const reached = new Latch();
  const release = new Latch();
  const time = redis.time.bind(redis);
  const spy = jest.spyOn(redis, 'time').mockImplementationOnce(async () => {
    reached.open();
    await release.wait();
    spy.mockRestore();
    return time();
  });
  return { reached, release };
}

describe('runtime schedules: client.schedule(), unschedule(), schedules()', () => {
  const gen = useGenerationApps();
  const { redis, start } = gen;

  it('bad input throws a typed error naming the option and writes nothing', async () => {
    const app = await start({ worker: false }); // it has handlers: unknown names are refused
    const c = app.client;
    const queueKeys = () => redis.keys(`${app.keys.tag.slice(0, -'default}'.length)}*`);
    const before = await queueKeys();
    const bad: Array<[Promise<unknown>, string]> = [
      [c.schedule('no-such-task', null, { key: 'k', every: 1_000 }), 'UNKNOWN_TASK'],
      [c.schedule('keyed', null, { every: 1_000 } as never), '"key"'],
      [c.schedule('keyed', null, { key: '', every: 1_000 }), '"key"'],
      [c.schedule('keyed', null, { key: periodicKey('tick'), every: 1_000 }), '"key"'],
      [c.schedule('keyed', null, { key: 'k' } as never), '"every"'],
      [c.schedule('keyed', null, { key: 'k', every: 5 }), '"every"'],
      [c.schedule('keyed', null, { key: 'k', every: 'soon' }), '"every"'],
      [c.schedule('keyed', null, { key: 'k', every: 1_000, cron: '* * * * *' } as never), '"every"'],
      [c.schedule('keyed', null, { key: 'k', cron: '0 9' }), '"cron"'],
      [c.schedule('keyed', null, { key: 'k', cron: '0 9 * * 1', timezone: 'Mars/Olympus' }), '"timezone"'],
      [c.schedule('keyed', null, { key: 'k', every: 1_000, timezone: 'UTC' } as never), '"timezone"'],
      [c.schedule('keyed', 10n, { key: 'k', every: 1_000 }), 'PAYLOAD'],
      [c.schedules({ limit: 0 }), '"limit"'],
      [c.schedules({ limit: 1.5 }), '"limit"'],
      [c.schedules({ after: '' }), '"after"'],
      [c.unschedule(''), '"key"'],
    ];
    for (const [call, expected] of bad) {
      const error = await call.then(
        () => undefined,
        (e: Error & { code?: string }) => e,
      );
      expect(error).toBeDefined();
      expect(`${error!.code} ${error!.message}`).toContain(expected);
    }
    expect(await queueKeys()).toEqual(before);
  });

  it('an `every` schedule runs on workers that define no schedule, one run per slot, one successor', async () => {
    const app = await start();
    const h = await app.client.schedule('keyed', { user: 42 }, { key: 'reminder:42', every: 200 });
    expect(h).toMatchObject({ key: 'reminder:42', created: true });
    await waitFor(() => gen.probe.runsOf('keyed').length >= 3, { description: '3 runs' });
    const runs = gen.probe.runsOf('keyed');
    expect(runs.every((r) => r.ctx.key === 'reminder:42')).toBe(true);
    expect(runs.map((r) => r.payload)).toEqual(runs.map(() => ({ user: 42 })));
    const generations = runs.map((r) => r.ctx.generation);
    expect([...generations].sort((a, b) => a - b)).toEqual(generations);
    expect(new Set(generations).size).toBe(generations.length);
    const members = await redis.zrange(app.keys.delayed, 0, -1);
    expect(members.filter((m) => JSON.parse(m).k === 'reminder:42').length).toBeLessThanOrEqual(1);
  });

  it('survives restarts: scheduled by a producer, it fires on a worker booted later, and on the next one', async () => {
    const producer = await start({ worker: false });
    await producer.client.schedule('keyed', 'ping', { key: 'heartbeat', every: 150 });
    await producer.close();
    const first = await start();
    await waitFor(() => gen.probe.runsOf('keyed').length >= 2, { description: 'runs on the first worker' });
    await first.close();
    const before = gen.probe.runsOf('keyed').length;
    await start();
    await waitFor(() => gen.probe.runsOf('keyed').length >= before + 2, { description: 'runs after a restart' });
  });

  it('concurrent schedule() calls of one key, from two processes, make exactly one chain', async () => {
    const [a, b] = await Promise.all([start({ worker: false }), start({ worker: false })]);
    const handles = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).client.schedule('keyed', 'same', { key: 'daily', cron: '0 9 * * *', timezone: 'Asia/Tokyo' }),
      ),
    );
    expect(new Set(handles.map((h) => h.id)).size).toBe(1);
    expect(handles.filter((h) => h.created)).toHaveLength(1);
    expect(await redis.zcard(a.keys.delayed)).toBe(1);
    expect(await redis.zrange(a.keys.schedules, 0, -1)).toEqual(['daily']);
  });

  it("interleaved: A reads the clock, B schedules the key, then A writes: A finds B's chain and leaves it", async () => {
    const [a, b] = await Promise.all([start({ worker: false }), start({ worker: false })]);
    const options = { key: 'weekly', cron: '0 9 * * 1', timezone: 'Europe/Paris' };
    const held = holdNextClockRead(a);
    const fromA = a.client.schedule('keyed', 'x', options);
    await held.reached.wait();
    const fromB = await b.client.schedule('keyed', 'x', options);
    held.release.open();
    const handleA = await fromA;
    expect(fromB.created).toBe(true);
    expect(handleA).toMatchObject({ id: fromB.id, generation: fromB.generation, created: false });
    expect(await redis.zcard(a.keys.delayed)).toBe(1);
  });

  it("interleaved re-time: the last writer's timing wins, the earlier chain is superseded, never both", async () => {
    const [a, b] = await Promise.all([start({ worker: false }), start({ worker: false })]);
    const held = holdNextClockRead(a);
    const fromA = a.client.schedule('keyed', 'x', { key: 'r', cron: '0 9 * * 1', timezone: 'America/New_York' });
    await held.reached.wait();
    const fromB = await b.client.schedule('keyed', 'x', { key: 'r', every: '1h' });
    held.release.open();
    const handleA = await fromA;
    expect(handleA.created).toBe(true);
    expect(handleA.generation).toBeGreaterThan(fromB.generation);
    const members = (await redis.zrange(a.keys.delayed, 0, -1)).map((m) => JSON.parse(m));
    expect(members).toHaveLength(1);
    expect(members[0]).toMatchObject({ id: handleA.id, g: String(handleA.generation) });
    expect(await redis.hmget(a.keys.keyState('r'), 'sk', 'cron', 'tz', 'every')).toEqual([
      'cron',
      '0 9 * * 1',
      'America/New_York',
      null,
    ]);
    await expect(fromB.result({ timeoutMs: 2_000 })).rejects.toMatchObject({ code: 'TASK_SUPERSEDED' });
  });

  it('re-timed while a run runs: that run is superseded and schedules nothing; one successor, on the new timing', async () => {
    const mayFinish = new Latch();
    let aborted: unknown;
    gen.probe.on('keyed', (_payload, ctx: TaskContext) => {
      ctx.signal.addEventListener('abort', () => (aborted = ctx.signal.reason));
      return mayFinish.wait();
    });
    const app = await start();
    const old = await app.client.schedule('keyed', 'v1', { key: 'slow', every: 100 });
    await waitFor(() => gen.probe.runsOf('keyed').length === 1, { description: 'the first run started' });
    const retimed = await app.client.schedule('keyed', 'v2', { key: 'slow', every: '1h' });
    expect(retimed.created).toBe(true);
    await waitFor(() => aborted !== undefined, { description: 'the running run was told' });
    expect(aborted).toMatchObject({ code: 'SUPERSEDED' });
    mayFinish.open();
    await waitFor(async () => (await redis.hget(app.keys.keyState('slow'), 'rmid')) === null, {
      description: 'the old run settled',
    });
    const members = (await redis.zrange(app.keys.delayed, 0, -1)).filter((m) => JSON.parse(m).k === 'slow');
    expect(members.map((m) => JSON.parse(m))).toEqual([
      expect.objectContaining({ id: retimed.id, p: '"v2"', g: String(retimed.generation) }),
    ]);
    const due = Number(await redis.zscore(app.keys.delayed, members[0]));
    expect(due - Date.now()).toBeGreaterThan(59 * 60_000);
    expect(gen.probe.runsOf('keyed').map((r) => r.ctx.id)).toEqual([old.id]);
  });

  it('a cron schedule: its worker computes the next fire times from the stored cron and zone', async () => {
    const app = await start();
    await app.client.schedule('keyed', null, { key: 'every-second', cron: '* * * * * *', timezone: 'Europe/Paris' });
    // The first fire is the run now waiting; the worker may already have started it (a second
    // boundary passed), settling with the list one shorter.
    const stored = (await redis.hget(app.keys.keyState('every-second'), 'fires'))!.split(',');
    expect([CRON_FIRES - 2, CRON_FIRES - 1]).toContain(stored.length);
    await waitFor(() => gen.probe.runsOf('keyed').length >= 2, { timeoutMs: 8_000, description: '2 runs' });
    // Settled by a worker that read the stored cron: a fresh list, not the first one used up.
    await waitFor(async () => (await redis.hget(app.keys.keyState('every-second'), 'state')) === 'delayed');
    const fires = (await redis.hget(app.keys.keyState('every-second'), 'fires'))!.split(',');
    expect(fires).toHaveLength(CRON_FIRES - 1);
    expect(fires.every((f) => Number(f) % 1_000 === 0)).toBe(true);
    expect(Number(await redis.hget(app.keys.keyState('every-second'), 'dueAt')) % 1_000).toBe(0);
  });

  it('unschedule() ends a schedule for good; cancel() does too; neither touches a key that is no schedule', async () => {
    const app = await start({ worker: false });
    await app.client.schedule('keyed', null, { key: 'a', every: '1h' });
    await app.client.schedule('keyed', null, { key: 'b', every: '1h' });
    const plain = await app.client.enqueue('keyed', null, { key: 'plain', delayMs: 60_000 });
    expect(await app.client.unschedule('plain')).toBe(false);
    expect(await app.client.status('plain')).toMatchObject({ state: 'delayed', id: plain.id });
    expect(await app.client.unschedule('a')).toBe(true);
    expect(await app.client.cancel('b')).toBe(true);
    expect(await app.client.unschedule('a')).toBe(false);
    expect(await redis.zcard(app.keys.schedules)).toBe(0);
    expect(await app.client.status('a')).toMatchObject({ state: 'cancelled' });
    // A replace() of the ended key runs once: the chain does not come back.
    expect(await redis.hget(app.keys.keyState('b'), 'rt')).toBeNull();
    expect(await redis.zcard(app.keys.delayed)).toBe(1); // only the plain task
  });

  it("schedules() pages through a queue's schedules in key order, with what each one is", async () => {
    const app = await start({ worker: false });
    for (const n of [3, 1, 5, 2, 4]) await app.client.schedule('keyed', { n }, { key: `user:${n}`, every: '1h' });
    await app.client.schedule('keyed', null, { key: 'user:6', cron: '0 9 * * 1', timezone: 'Europe/Paris' });
    const pages = [];
    let after: string | undefined;
    do {
      const page = await app.client.schedules({ limit: 4, after });
      pages.push(page.items.map((s) => s.key));
      after = page.next;
    } while (after !== undefined);
    expect(pages).toEqual([
      ['user:1', 'user:2', 'user:3', 'user:4'],
      ['user:5', 'user:6'],
    ]);
    const { items } = await app.client.schedules({ after: 'user:4' });
    expect(items[0]).toEqual({
      key: 'user:5',
      name: 'keyed',
      queue: 'default',
      payload: { n: 5 },
      every: 3_600_000,
      state: 'delayed',
      nextRunAt: expect.any(Date),
      generation: expect.any(Number),
    });
    expect(items[1]).toMatchObject({ key: 'user:6', cron: '0 9 * * 1', timezone: 'Europe/Paris', state: 'delayed' });
    expect((await app.client.schedules({ limit: 6 })).next).toBeUndefined();
  });

  it('a @Task schedule stopped by cancel() stays stopped on running workers, and the next worker boot puts it back', async () => {
    const first = await start();
    const key = periodicKey('tick');
    await waitFor(async () => (await first.client.status(key))?.state === 'delayed', { description: 'the chain' });
    expect(await first.client.cancel(key)).toBe(true);
    expect(await first.client.status(key)).toMatchObject({ state: 'cancelled' });
    expect((await redis.zrange(first.keys.delayed, 0, -1)).filter((m) => JSON.parse(m).k === key)).toEqual([]);
    await start(); // a boot: the code says `tick` runs every 400 ms
    expect((await first.client.status(key))?.state).toMatch(/^(delayed|queued|running)$/);
    // replace() on the periodic key resumes it at once, without a boot.
    await first.client.cancel(key);
    const resumed = await first.client.replace('tick', null, { key });
    expect(await first.client.status(key)).toMatchObject({ id: resumed.id });
  });
});

import type { TaskContext } from '../../lib';
import { periodicKey } from '../../lib';
import { Latch, sleep } from '../utils/helpers';
import { waitFor } from '../utils/redis';
import { useGenerationApps } from './generation-apps';

describe('task keys: idempotent enqueue, replace, cancel, status, delays', () => {
  const gen = useGenerationApps();
  const { redis, start } = gen;
  const producer = () => start({ worker: false });

  it('50 concurrent enqueues of one key, from 5 processes worth of clients, create one run', async () => {
    const producers = await Promise.all(Array.from({ length: 5 }, () => producer()));
    const handles = await Promise.all(
      Array.from({ length: 50 }, (_, i) => producers[i % 5].client.enqueue('keyed', { i }, { key: 'order-42' })),
    );
    expect(new Set(handles.map((h) => h.id)).size).toBe(1);
    expect(handles.filter((h) => h.created)).toHaveLength(1);
    expect(await redis.xlen(producers[0].keys.stream)).toBe(1);
  });

  it('a keyed task runs once; enqueue returns the live run until it settled, then adds a new one', async () => {
    const latch = new Latch();
    gen.probe.on('keyed', () => latch.wait().then(() => 'done'));
    const app = await start();
    const first = await app.client.enqueue('keyed', 1, { key: 'k' });
    await waitFor(() => gen.probe.runsOf('keyed').length === 1);
    const again = await app.client.enqueue('keyed', 2, { key: 'k' });
    expect(again.id).toBe(first.id);
    expect(await first.status()).toMatchObject({ state: 'running', id: first.id, generation: first.generation });
    latch.open();
    expect(await first.result({ timeoutMs: 5_000 })).toBe('done');
    await waitFor(async () => (await app.client.status('k'))?.state === 'completed');
    const next = await app.client.enqueue('keyed', 3, { key: 'k' });
    expect(next.id).not.toBe(first.id);
    expect(next.generation).toBeGreaterThan(first.generation); // drawn from the queue's sequence: never repeats
  });

  it('replace never overlaps a running handler that ignores its signal, however long it runs (issue 9)', async () => {
    let oldEndedAt = 0;
    let newStartedAt = 0;
    gen.probe.on('keyed', async (payload) => {
      if (payload !== 'old') {
        newStartedAt = performance.now();
        return 'new result';
      }
      await sleep(2_500); // ignores ctx.signal: 0.1 released the key 1 s after the abort
      oldEndedAt = performance.now();
      return 'old result';
    });
    const app = await start();
    await app.client.enqueue('keyed', 'old', { key: 'k' });
    await waitFor(() => gen.probe.runsOf('keyed').length === 1, { description: 'the old run started' });
    await sleep(400);
    const fresh = await app.client.replace('keyed', 'new', { key: 'k' });
    expect(await fresh.result({ timeoutMs: 10_000 })).toBe('new result');
    expect(oldEndedAt).toBeGreaterThan(0);
    expect(newStartedAt).toBeGreaterThanOrEqual(oldEndedAt);
  });

  it('replace aborts the running run with reason "superseded"; it writes nothing; the new one runs after', async () => {
    let aborted: unknown;
    gen.probe.on('keyed', (payload, ctx: TaskContext) =>
      payload === 'old'
        ? new Promise((_resolve, reject) =>
            ctx.signal.addEventListener('abort', () => reject((aborted = ctx.signal.reason))),
          )
        : 'new result',
    );
    const app = await start();
    const old = await app.client.enqueue('keyed', 'old', { key: 'k' });
    await waitFor(() => gen.probe.runsOf('keyed').length === 1);
    const fresh = await app.client.replace('keyed', 'new', { key: 'k' });
    expect(fresh.generation).toBeGreaterThan(old.generation);
    expect(await fresh.result({ timeoutMs: 5_000 })).toBe('new result');
    expect(aborted).toMatchObject({ code: 'SUPERSEDED' });
    expect(await redis.exists(app.keys.result(old.id))).toBe(0);
    expect(await app.client.status('k')).toMatchObject({
      state: 'completed',
      id: fresh.id,
      generation: fresh.generation,
    });
    await waitFor(() => app.events.counters()['superseded-tail'] === 1);
    // Never overlapped: the new run started after the old one was settled.
    const [oldRun, newRun] = gen.probe.runsOf('keyed');
    expect(oldRun.payload).toBe('old');
    expect(newRun.payload).toBe('new');
  });

  it('cancel aborts a running run with reason "cancelled" and it writes nothing', async () => {
    let aborted: unknown;
    gen.probe.on(
      'keyed',
      (_payload, ctx: TaskContext) =>
        new Promise((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () => reject((aborted = ctx.signal.reason))),
        ),
    );
    const app = await start();
    const run = await app.client.enqueue('keyed', null, { key: 'k' });
    await waitFor(() => gen.probe.runsOf('keyed').length === 1);
    expect(await app.client.cancel('k')).toBe(true);
    await waitFor(() => aborted !== undefined);
    expect(aborted).toMatchObject({ code: 'CANCELLED' });
    await waitFor(() => app.events.counters()['superseded-tail'] === 1);
    expect(await app.client.status('k')).toMatchObject({ state: 'cancelled', id: run.id });
    expect(await redis.exists(app.keys.result(run.id))).toBe(0);
    expect(await redis.xlen(app.keys.deadLetter)).toBe(0);
    expect(await app.client.cancel('k')).toBe(false);
  });

  it('a cancelled delayed run never starts', async () => {
    const app = await start();
    await app.client.enqueue('keyed', null, { key: 'later', delayMs: 200 });
    expect(await app.client.status('later')).toMatchObject({ state: 'delayed' });
    expect(await app.client.cancel('later')).toBe(true);
    await sleep(500);
    expect(gen.probe.runsOf('keyed')).toHaveLength(0);
    const delayedKeys = (await redis.zrange(app.keys.delayed, 0, -1)).map((m) => (JSON.parse(m) as { k?: string }).k);
    expect(delayedKeys).not.toContain('later'); // (the periodic 'tick' fixture keeps its own member)
  });

  it('delayMs and runAt hold a task back until it is due', async () => {
    const app = await start();
    const enqueuedAt = Date.now();
    const delayed = await app.client.enqueue('keyed', 'delay', { delayMs: 400 });
    const at = await app.client.enqueue('keyed', 'at', { runAt: new Date(Date.now() + 400) });
    await Promise.all([delayed.result({ timeoutMs: 5_000 }), at.result({ timeoutMs: 5_000 })]);
    for (const run of gen.probe.runsOf('keyed')) expect(run.ctx.attempt).toBe(1);
    expect(Date.now() - enqueuedAt).toBeGreaterThanOrEqual(400);
  });

  it('a delayed task enqueued by another process starts when due, not at the next sweep', async () => {
    const app = await start({ sweepIntervalMs: 5_000 });
    const other = await producer();
    await redis.del(app.keys.delayed); // the periodic fixture's slot would wake the promoter anyway
    await sleep(1_000); // the promoter has seen an empty delayed set and sleeps a whole sweep interval
    const enqueuedAt = Date.now();
    await other.client.enqueue('keyed', null, { delayMs: 300 });
    await waitFor(() => gen.probe.runsOf('keyed').length === 1, {
      timeoutMs: 4_000,
      description: 'the delayed task ran',
    });
    const startedAfter = Date.now() - enqueuedAt;
    expect(startedAfter).toBeGreaterThanOrEqual(300);
    expect(startedAfter).toBeLessThan(4_000); // the sweep interval is 5 s: it was woken by its due time
  });

  it('a message without a generation runs normally even when the key counter is above 0', async () => {
    const app = await start();
    const h = await app.client.enqueue('keyed', 1, { key: 'legacy' });
    await h.result({ timeoutMs: 5_000 });
    await app.client.replace('keyed', 2, { key: 'legacy' }).then((r) => r.result({ timeoutMs: 5_000 }));
    await redis.xadd(
      app.keys.stream,
      '*',
      'id',
      'from-old-producer',
      'n',
      'keyed',
      'p',
      '"legacy"',
      'a',
      '1',
      'k',
      'legacy',
    );
    await waitFor(() => gen.probe.runs.some((r) => r.ctx.id === 'from-old-producer'), {
      description: 'the legacy message ran',
    });
    expect(gen.probe.runs.find((r) => r.ctx.id === 'from-old-producer')?.ctx.generation).toBe(0);
  });

  it('status() of an unkeyed task is pending, then completed', async () => {
    const latch = new Latch();
    gen.probe.on('keyed', () => latch.wait());
    const app = await start();
    const h = await app.client.enqueue('keyed', null);
    expect(await h.status()).toMatchObject({ state: 'pending', id: h.id });
    latch.open();
    await h.result({ timeoutMs: 5_000 });
    expect(await h.status()).toMatchObject({ state: 'completed', id: h.id });
    // A void result is not stored: a handle rebuilt elsewhere finds the task settled by its entry id.
    expect(await app.client.handle(h.id, h.toJSON()).result({ timeoutMs: 1_000 })).toBeUndefined();
    expect(await redis.exists(app.keys.result(h.id))).toBe(0);
  });

  it('handle(id, toJSON()) keeps the generation of the handle it was rebuilt from', async () => {
    const app = await start({ worker: false });
    await app.client.enqueue('keyed', 1, { key: 'g', delayMs: 60_000 });
    const second = await app.client.replace('keyed', 2, { key: 'g', delayMs: 60_000 });
    expect(second.generation).toBeGreaterThan(1);
    const rebuilt = app.client.handle(second.id, JSON.parse(JSON.stringify(second)));
    expect(rebuilt.generation).toBe(second.generation);
    expect(rebuilt.toJSON()).toEqual(second.toJSON());
    expect(app.client.handle(second.id).generation).toBe(0); // unknown without it
    expect(() => app.client.handle(second.id, { generation: -1 })).toThrow('"generation"');
  });

  it('replace with `every` re-times a periodic key; `every` on another key is refused', async () => {
    const app = await start({ worker: false });
    await expect(app.client.replace('keyed', null, { key: 'k', every: 100 })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    const h = await app.client.replace('tick', null, { key: periodicKey('tick'), every: '2s', delayMs: 60_000 });
    expect(await app.client.status(periodicKey('tick'))).toMatchObject({ state: 'delayed', id: h.id });
    expect(await redis.hget(app.keys.keyState(periodicKey('tick')), 'every')).toBe('2000');
  });
});

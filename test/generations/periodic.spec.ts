import type { TaskContext } from '../../lib';
import { periodicKey } from '../../lib';
import { Latch, sleep } from '../utils/helpers';
import { waitFor } from '../utils/redis';
import { useGenerationApps } from './generation-apps';
import { TICK_EVERY_MS } from './generation-tasks';

describe('periodic tasks', () => {
  const gen = useGenerationApps();
  const { redis, start } = gen;

  it('four workers booting at once schedule it once; over N intervals it runs N times, once per slot', async () => {
    const bootedFrom = Date.now();
    const apps = await Promise.all(Array.from({ length: 4 }, () => start()));
    const bootedBy = Date.now(); // the first slot is one period after a boot-time enqueue in between
    const INTERVALS = 8;
    await sleep(TICK_EVERY_MS * INTERVALS + TICK_EVERY_MS / 2);
    // Slots that came due while the workers ran, the first one period after boot; counted before
    // closing, whose duration (a drain on a loaded machine) says nothing about the schedule.
    const closingAt = Date.now();
    const slots = Math.floor((closingAt - bootedFrom) / TICK_EVERY_MS);
    const surelyDueSlots = Math.floor((closingAt - bootedBy) / TICK_EVERY_MS);
    await Promise.all(apps.map((a) => a.close()));
    const runs = gen.probe.runsOf('tick');
    // Between the slots due since the last boot finished and those since the first began (a loaded
    // machine can take a second to boot four apps), give or take the slot running at close.
    expect(runs.length).toBeLessThanOrEqual(slots + 1);
    expect(runs.length).toBeGreaterThanOrEqual(surelyDueSlots - 1);
    // At least the intervals slept; more when a loaded machine overslept (counted by `slots`).
    expect(runs.length).toBeGreaterThanOrEqual(INTERVALS - 1);
    const generations = runs.map((r) => r.ctx.generation);
    expect(new Set(generations).size).toBe(generations.length); // never twice in one slot
    expect(generations).toEqual([...generations].sort((a, b) => a - b));
    // Exactly one successor waits: delayed, or already in the stream when it came due while the
    // apps closed (a worker still open promoted it; a slow close on a loaded machine outlasts a
    // period). Entries are deleted once acked, so the stream holds only unsettled ones.
    const waiting = [await redis.zcard(apps[0].keys.delayed), await redis.xlen(apps[0].keys.stream)];
    expect(waiting[0] + waiting[1]).toBe(1);
  });

  it('docket #331 end to end: A ignores its signal; the re-timed B never overlaps it; one successor, timed by B', async () => {
    const aMayFinish = new Latch();
    let aAborted: unknown;
    let aGeneration: number | undefined;
    let bGeneration = Infinity;
    let aEndedAt = 0;
    let bStartedAt = 0;
    gen.probe.on('tick', (_payload, ctx: TaskContext) => {
      if (aGeneration !== undefined && ctx.generation > aGeneration) {
        if (ctx.generation !== bGeneration) return 'successor';
        bStartedAt = performance.now();
        return 'B';
      }
      // Run A ignores its signal and keeps running long after the replace.
      aGeneration = ctx.generation;
      ctx.signal.addEventListener('abort', () => (aAborted = ctx.signal.reason));
      return aMayFinish.wait().then(() => {
        aEndedAt = performance.now();
        return 'A';
      });
    });
    const app = await start();
    const client = app.client;
    const key = periodicKey('tick');
    // Run A now (the boot schedule's first run is replaced before it is due).
    await client.replace('tick', null, { key, every: 2_000 });
    await waitFor(() => gen.probe.runsOf('tick').length === 1, { description: 'A started' });
    const a = gen.probe.runsOf('tick')[0].ctx;

    const b = await client.replace('tick', null, { key, every: 500 });
    bGeneration = b.generation;
    await waitFor(() => aAborted !== undefined, { description: 'A asked to stop' });
    expect(aAborted).toMatchObject({ code: 'SUPERSEDED' });
    // Issue 9: the key is held until A's handler returns, however long it ignores its signal
    // (it used to be released after a 1 s grace, and B overlapped A).
    await sleep(1_500);
    expect(bStartedAt).toBe(0);
    const bDue = Number(await redis.hget(app.keys.keyState(key), 'dueAt'));
    aMayFinish.open();
    expect(await b.result({ timeoutMs: 5_000 })).toBe('B');
    expect(bStartedAt).toBeGreaterThanOrEqual(aEndedAt);
    await sleep(100);

    const members = await redis.zrange(app.keys.delayed, 0, -1, 'WITHSCORES');
    expect(members).toHaveLength(2);
    // On B's 500 ms grid, from B's slot (B ran late, after A returned: the slots it missed were skipped).
    const next = Number(members[1]);
    expect(next).toBeGreaterThan(bDue);
    expect((next - bDue) % 500).toBe(0);
    const state = await redis.hgetall(app.keys.keyState(key));
    expect(Number(state.gen)).toBeGreaterThan(b.generation);
    expect(state.state).toBe('delayed');
    expect(await redis.exists(app.keys.result(a.id))).toBe(0); // A, superseded, wrote nothing
    await waitFor(() => gen.probe.runsOf('tick').some((r) => r.ctx.generation > b.generation), {
      timeoutMs: 3_000,
      description: "B's successor ran",
    });
  });

  it('a periodic run that fails for good still schedules the next slot', async () => {
    gen.probe.on('tick', () => {
      throw new Error('every tick fails');
    });
    const app = await start();
    await waitFor(() => gen.probe.runsOf('tick').length >= 3, { timeoutMs: 5_000, description: 'three failing ticks' });
    expect(await redis.xlen(app.keys.deadLetter)).toBeGreaterThanOrEqual(2);
  });
});

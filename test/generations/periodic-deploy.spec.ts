import type { Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { periodicKey, QueueClient, StreamQueueModule, type TaskContext } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { closeModule } from '../fixtures/close-module';
import { useProbeApps } from '../fixtures/probe-apps';
import { logger, startApp, testOptions, type TestApp } from '../fixtures/test-app';
import { waitFor } from '../utils/redis';
import { ScheduleVersionModule, TickCron2s, TickEvery1500, TickEvery300, TickMovedEvery300 } from './schedule-versions';

/** One run of `tick`: when it started, on which queue, and the slot it ran for. */
interface Tick {
  readonly at: number;
  readonly queue: string;
  readonly dueAt: number;
  readonly generation: number;
}

// Issue 15 items 5-7: a periodic task's schedule and queue across deploys and runtime re-times.
describe('periodic tasks across deploys', () => {
  const env = useProbeApps();
  const { redis } = env;
  let ticks: Tick[];
  const key = periodicKey('tick');
  const keysOf = (queue: string) => new QueueKeys(env.prefix, queue);

  beforeEach(() => {
    ticks = [];
    env.probe.on('tick', async (_payload, ctx: TaskContext) => {
      const dueAt = Number(await redis.hget(keysOf(ctx.queue).keyState(key), 'dueAt'));
      ticks.push({ at: Date.now(), queue: ctx.queue, dueAt, generation: ctx.generation });
    });
  });

  /** A worker running one version of the code. */
  const start = (version: Type<unknown>): Promise<TestApp> =>
    startApp({ prefix: env.prefix, probe: env.probe, imports: [ScheduleVersionModule.register(env.probe, version)] });
  const ticksFrom = async (count: number, from: number, timeoutMs = 15_000): Promise<Tick[]> => {
    await waitFor(() => ticks.length >= from + count, { timeoutMs, description: `${count} ticks` });
    return ticks.slice(from, from + count);
  };
  /**
   * The first `count` runs of generation `generation` or later: a run of the chain replaced may
   * still record after the replace (it was running), reading the slot the replace wrote.
   */
  const ticksOf = async (count: number, generation: number): Promise<Tick[]> => {
    const of = () => ticks.filter((t) => t.generation >= generation);
    await waitFor(() => of().length >= count, {
      timeoutMs: 15_000,
      description: `${count} ticks of generation ${generation} on`,
    });
    return of().slice(0, count);
  };
  const logsSince = (mark: number, pattern: RegExp) => logger.lines.slice(mark).filter((l) => pattern.test(l.message));
  /** The delayed members of the periodic key on `queue`: one live chain has at most one. */
  const waitingRuns = async (queue: string) =>
    (await redis.zrange(keysOf(queue).delayed, 0, -1)).filter((m) => (JSON.parse(m) as { k?: string }).k === key);

  it('a redeploy from every 300 ms to every 1500 ms re-times the chain once, with three workers booting at once', async () => {
    const old = await start(TickEvery300);
    await ticksFrom(2, 0);
    const mark = logger.lines.length;
    await Promise.all([1, 2, 3].map(() => start(TickEvery1500)));
    // The old worker keeps running too, as in a rolling deploy: the stored period times its settles.
    const from = ticks.length;
    const runs = await ticksFrom(4, from);
    const gaps = runs.slice(1).map((r, i) => r.dueAt - runs[i].dueAt);
    expect(gaps).toEqual([1_500, 1_500, 1_500]);
    expect(logsSince(mark, /Re-timed periodic task "tick" to every 1500 ms/)).toHaveLength(1);
    expect(await redis.hget(old.keys.keyState(key), 'every')).toBe('1500');
    expect((await waitingRuns('default')).length).toBeLessThanOrEqual(1);
  });

  it('a redeploy from every 300 ms to a cron of every 2 s follows the cron (in UTC) from then on', async () => {
    await start(TickEvery300);
    await ticksFrom(2, 0);
    await Promise.all([1, 2].map(() => start(TickCron2s)));
    const from = ticks.length + 1; // a run in flight during the boot may still be on the old grid
    const runs = await ticksFrom(3, from);
    for (const run of runs) expect(run.dueAt % 2_000).toBe(0);
    expect(runs.slice(1).map((r, i) => r.dueAt - runs[i].dueAt)).toEqual([2_000, 2_000]);
    expect(await redis.hgetall(keysOf('default').keyState(key))).toMatchObject({ sk: 'cron', tz: 'UTC' });
  });

  it('a restart with an unchanged definition leaves a runtime re-time in place', async () => {
    const first = await start(TickEvery300);
    await first.client.replace('tick', null, { key, every: 1_000 });
    const mark = logger.lines.length;
    await start(TickEvery300);
    expect(logsSince(mark, /Re-timed|Scheduled periodic/)).toEqual([]);
    expect(await redis.hget(first.keys.keyState(key), 'every')).toBe('1000');
  });

  it('moving the task to another queue ends the chain left on the old one: one run per slot', async () => {
    const old = await start(TickEvery300);
    await ticksFrom(2, 0);
    await old.close();
    const mark = logger.lines.length;
    // The new version still consumes `default` (for `echo`), where the old chain's next run arrives.
    await Promise.all([1, 2].map(() => start(TickMovedEvery300)));
    await waitFor(() => logsSince(mark, /"tick" is no longer defined on queue "default"/).length > 0, {
      timeoutMs: 5_000,
      description: 'the old chain ended',
    });
    const from = ticks.length;
    const runs = await ticksFrom(4, from);
    expect(runs.map((r) => r.queue)).toEqual(['other', 'other', 'other', 'other']);
    expect(await waitingRuns('default')).toEqual([]);
    expect(await redis.hget(keysOf('default').keyState(key), 'state')).toBe('completed');
    expect((await waitingRuns('other')).length).toBeLessThanOrEqual(1);
  });

  it('a producer without handlers re-times with `every`; a replace without `every` keeps the stored period', async () => {
    const worker = await start(TickEvery300);
    const producerRef = await Test.createTestingModule({
      imports: [StreamQueueModule.forRoot(testOptions(env.prefix, { worker: false }))],
    })
      .setLogger(logger)
      .compile();
    await producerRef.init();
    try {
      const producer = producerRef.get(QueueClient);
      const retimed = await producer.replace('tick', null, { key, every: 1_000 });
      let runs = await ticksOf(3, retimed.generation);
      expect(runs.slice(1).map((r, i) => r.dueAt - runs[i].dueAt)).toEqual([1_000, 1_000]);

      const handle = await producer.replace('tick', null, { key });
      // The replace's run, due at once, and its successors.
      runs = await ticksOf(3, handle.generation);
      expect(runs.slice(1).map((r, i) => r.dueAt - runs[i].dueAt)).toEqual([1_000, 1_000]);
      expect(await redis.hget(worker.keys.keyState(key), 'every')).toBe('1000');
      expect(handle.generation).toBeGreaterThan(0);
    } finally {
      await closeModule(producerRef);
    }
  });
});

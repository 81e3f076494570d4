import { Injectable, Module } from '@nestjs/common';
import { Task, type TaskContext, type TaskOptions } from '../../lib';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { startApp, type TestApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { monitorNodeOf, waitFor } from '../utils/redis';
import { startedByDeadWorker } from '../fixtures/dead-rated-start';
import { heldTaskIds } from '../fixtures/flow-state';

/** Starts of the rate-limited handlers, on Redis's clock (ctx.startedAt). */
const starts: Array<{ task: string; group: string; at: number; id: string }> = [];

@Injectable()
class RateTasks {
  @Task('rate.global', { rateLimit: { max: 5, perMs: 1_000 } })
  global(payload: { group?: string }, ctx: TaskContext) {
    starts.push({ task: 'rate.global', group: payload?.group ?? '', at: ctx.startedAt!, id: ctx.id });
  }

  @Task('rate.group', { groupRateLimit: { max: 2, perMs: 1_000 } })
  group(payload: { group?: string }, ctx: TaskContext) {
    starts.push({ task: 'rate.group', group: payload?.group ?? '', at: ctx.startedAt!, id: ctx.id });
  }

  @Task('rate.slow', { rateLimit: { max: 2, perMs: 3_000 } })
  slow(_payload: unknown, ctx: TaskContext) {
    starts.push({ task: 'rate.slow', group: '', at: ctx.startedAt!, id: ctx.id });
  }

  @Task('rate.one', { rateLimit: { max: 1, perMs: 1_500 } })
  one(_payload: unknown, ctx: TaskContext) {
    starts.push({ task: 'rate.one', group: '', at: ctx.startedAt!, id: ctx.id });
  }
}

@Module({ providers: [RateTasks] })
class RateTasksModule {}

/** The most starts in any interval of `perMs` (each start opens one: the worst is among them). */
function mostInWindow(times: number[], perMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i] - sorted[j] >= perMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/** Rate limits end to end (issue 11): starts per window on Redis's clock, across workers. */
describe('flow control: rate limits', () => {
  const env = useProbeApps();
  beforeEach(() => (starts.length = 0));
  const app = (options = {}): Promise<TestApp> =>
    startApp({ prefix: env.prefix, imports: [RateTasksModule], options: { concurrency: 20, ...options } });

  it('rateLimit 5 per 1000 ms across two workers: at most 5 starts in any 1000 ms of Redis time', async () => {
    const [a] = [await app(), await app()];
    await a.client.enqueueMany(Array.from({ length: 20 }, (_, i) => ({ name: 'rate.global', payload: { i } })));
    await waitFor(() => starts.length === 20, { timeoutMs: 15_000 });
    const times = starts.map((s) => s.at);
    expect(times.every((t) => Number.isInteger(t) && t > 0)).toBe(true);
    expect(mostInWindow(times, 1_000)).toBe(5);
    // Four windows' worth: the waiting ones started as tokens freed, not on a later sweep.
    const span = Math.max(...times) - Math.min(...times);
    expect(span).toBeGreaterThanOrEqual(3_000);
  }, 30_000);

  it('groupRateLimit: per group, a flooding group takes no token of another, which starts at once', async () => {
    const a = await app();
    await a.client.enqueueMany(
      Array.from({ length: 8 }, () => ({ name: 'rate.group', payload: { group: 'A' }, options: { group: 'A' } })),
    );
    await waitFor(() => starts.length >= 2);
    await a.client.enqueue('rate.group', { group: 'B' }, { group: 'B' });
    await waitFor(() => starts.length === 9, { timeoutMs: 15_000 });
    const ofGroup = (g: string) => starts.filter((s) => s.group === g).map((s) => s.at);
    expect(mostInWindow(ofGroup('A'), 1_000)).toBe(2);
    // B's task started in A's first window, ahead of A's six waiting ones.
    const b = ofGroup('B')[0];
    expect(b - Math.min(...ofGroup('A'))).toBeLessThan(1_000);
    expect(starts.findIndex((s) => s.group === 'B')).toBe(2);
  }, 30_000);

  it('waiting costs nothing: no rate check while tasks wait for a window, however many', async () => {
    const a = await app();
    await a.client.enqueueMany(Array.from({ length: 100 }, () => ({ name: 'rate.slow', payload: {} })));
    await waitFor(() => starts.length === 2);
    await waitFor(async () => (await heldTaskIds(env.redis, a.keys)).length === 0); // both settled
    // One wake for the task, the 98 others wait in the room.
    expect(await env.redis.zrange(a.keys.flowWake, 0, -1)).toEqual(['rate.slow']);
    expect(await env.redis.zcard(a.keys.flow.room)).toBe(98);
    // Every command run on this room (by a script or not; a script call that declares the key
    // is not one): not the server-wide commandstats, which other clients of a shared Redis move.
    const monitor = await monitorNodeOf(a.keys.flow.room);
    const onRoom: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[1] === a.keys.flow.room) onRoom.push(args[0].toUpperCase());
    });
    try {
      await new Promise((r) => setTimeout(r, 1_000)); // well inside the 3 s window
    } finally {
      monitor.disconnect();
    }
    expect(onRoom).toEqual([]);
    expect(starts).toHaveLength(2);
  }, 30_000);

  it('a restart of a run reclaimed from a dead worker waits for a token of the full window', async () => {
    // A producer with the task's definition, and no worker: the entry waits for the dead one.
    const producer = await app({ worker: false });
    await env.redis.xgroup('CREATE', producer.keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM');
    const handle = await producer.client.enqueue('rate.one', {});
    // A worker that died right after its claim: its run started (and counted), then nothing.
    const deadStart = await startedByDeadWorker(producer.keys, handle.id);
    // A live worker reclaims it at once (the dead one never beat): it must wait for the window.
    await app();
    await waitFor(() => starts.length === 1, { timeoutMs: 10_000 });
    expect(starts[0].id).toBe(handle.id);
    expect(starts[0].at - deadStart).toBeGreaterThanOrEqual(1_500);
    await handle.result({ timeoutMs: 5_000 });
  }, 30_000);

  const boot = (options: TaskOptions, queues = {}) => {
    @Injectable()
    class Bad {
      @Task('rate.bad', options)
      run() {}
    }
    @Module({ providers: [Bad] })
    class BadModule {}
    return startApp({ prefix: env.prefix, imports: [BadModule], options: { queues } }).catch((e: unknown) => e);
  };

  it.each([
    [{ rateLimit: { max: 0, perMs: 1_000 } }, "@Task('rate.bad').rateLimit.max"],
    [{ rateLimit: { max: 1.5, perMs: 1_000 } }, "@Task('rate.bad').rateLimit.max"],
    [{ rateLimit: { perMs: 1_000 } }, "@Task('rate.bad').rateLimit.max"],
    [{ rateLimit: { max: 1, perMs: 0 } }, "@Task('rate.bad').rateLimit.perMs"],
    [{ rateLimit: { max: 1, perMs: 0.5 } }, "@Task('rate.bad').rateLimit.perMs"],
    [{ rateLimit: 5 }, "@Task('rate.bad').rateLimit"],
    [{ groupRateLimit: { max: -1, perMs: 10 } }, "@Task('rate.bad').groupRateLimit.max"],
    [{ groupRateLimit: { max: 1 } }, "@Task('rate.bad').groupRateLimit.perMs"],
    [{ rateLimit: { max: 1, perMs: 10 }, every: 60_000 }, "@Task('rate.bad').rateLimit"],
  ] as Array<[TaskOptions, string]>)('%j fails bootstrap naming %s', async (options, option) => {
    expect(await boot(options)).toMatchObject({ option });
  });

  // Each partition enforces a share of max (partitionShare), and a share of 0 would never start
  // a run there. groupRateLimit works whole (its group's tasks go to one partition:
  // partitioned-groups.spec.ts); shares are exercised in partitioned-global-shares.spec.ts.
  it('a task rate limit on a partitioned queue with max below the partition count fails bootstrap naming it', async () => {
    const error = await boot({ queue: 'parts', rateLimit: { max: 1, perMs: 10 } }, { parts: { partitions: 2 } });
    expect(error).toMatchObject({ option: "@Task('rate.bad').rateLimit.max" });
    expect(String((error as Error).message)).toMatch(/at least queues\.parts\.partitions \(2\)/);
    const app = await boot({ queue: 'parts', rateLimit: { max: 2, perMs: 10 } }, { parts: { partitions: 2 } });
    expect(app).not.toBeInstanceOf(Error);
  });
});

import { Injectable, Module } from '@nestjs/common';
import { Task, type TaskContext } from '../../lib';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { waitFor } from '../utils/redis';

const TASK_PER_MS = 200;
const GROUP_PER_MS = 2_000;
/** A long sweep interval: a promotion that only the periodic fallback makes shows up as a long wait. */
const SWEEP_MS = 30_000;
const starts: Array<{ id: string; at: number }> = [];

@Injectable()
class TwoWindowTasks {
  @Task('attack.two', {
    rateLimit: { max: 100, perMs: TASK_PER_MS },
    groupRateLimit: { max: 1, perMs: GROUP_PER_MS },
  })
  two(_payload: unknown, ctx: TaskContext) {
    starts.push({ id: ctx.id, at: ctx.startedAt! });
  }

  @Task('attack.one', { rateLimit: { max: 1, perMs: GROUP_PER_MS } })
  one(_payload: unknown, ctx: TaskContext) {
    starts.push({ id: ctx.id, at: ctx.startedAt! });
  }
}

@Module({ providers: [TwoWindowTasks] })
class TwoWindowTasksModule {}

/**
 * Attack on rate wakes when a task has two windows of different lengths. A wake is written by
 * whatever feeds (an enqueue, a settle) into a sorted set the promotion loops read only when they
 * promote; so that a wake set after a loop planned its sleep is served on time, a worker whose
 * claim started a rated run plans a promotion for when the start leaves its window. The claim
 * returns the SHORTEST window's end (rate.lua rateStart: `leaves` = min perMs): with rateLimit
 * 200 ms and groupRateLimit 2,000 ms, the planned promotion runs at +200 ms, finds no wake, and
 * the loop sleeps for the sweep interval. An enqueue of the same group at +600 ms sets a wake at
 * +2,000 ms that no process knows of: the task starts at the next periodic promotion (up to the
 * sweep interval later), not when the group window frees. Guarantee 2: "start as soon as the
 * limit allows". The same with one window when the worker that planned the promotion is gone
 * (closed: its timers are cleared; or killed): the wake a later enqueue sets is known to no one.
 */
describe('attack: a wake of the longer window, set after the planned promotion, is served late', () => {
  const env = useProbeApps();
  beforeEach(() => (starts.length = 0));
  const redisMs = async () => {
    const [s, us] = await env.redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };

  it('the second task of a group starts when the group window frees, not at the next sweep', async () => {
    const worker = await startApp({
      prefix: env.prefix,
      imports: [TwoWindowTasksModule],
      options: { sweepIntervalMs: SWEEP_MS },
    });
    await worker.client.enqueue('attack.two', {}, { group: 'g' });
    await waitFor(() => starts.length === 1);
    const first = starts[0].at;
    // The promotion the claim planned (+200 ms) has run; the group window is still full.
    await waitFor(async () => (await redisMs()) > first + 3 * TASK_PER_MS);
    await worker.client.enqueue('attack.two', {}, { group: 'g' });
    expect(await env.redis.zrange(worker.keys.flowWake, 0, -1)).toEqual(['attack.two\0g']);

    await waitFor(() => starts.length === 2, {
      timeoutMs: GROUP_PER_MS + 6_000,
      description: 'the second start, once the group window freed',
    });
    expect(starts[1].at - first).toBeLessThan(GROUP_PER_MS + 2_000);
  }, 60_000);

  it('a wake set after the claiming worker left is served when the window frees, by the worker still up', async () => {
    const opts = { prefix: env.prefix, imports: [TwoWindowTasksModule], options: { sweepIntervalMs: SWEEP_MS } };
    const planner = await startApp(opts);
    await planner.client.enqueue('attack.one', {});
    await waitFor(() => starts.length === 1);
    const first = starts[0].at;
    const survivor = await startApp(opts);
    await planner.close();
    await survivor.client.enqueue('attack.one', {});
    // The task's window is full: its pair is parked, with the task's wake beside it.
    expect(await env.redis.zrange(survivor.keys.flowWake, 0, -1)).toContain('attack.one');

    await waitFor(() => starts.length === 2, {
      timeoutMs: GROUP_PER_MS + 6_000,
      description: 'the second start, once the window freed',
    });
    expect(starts[1].at - first).toBeLessThan(GROUP_PER_MS + 2_000);
  }, 60_000);
});

import { Injectable, Module } from '@nestjs/common';
import { Task, type TaskContext } from '../../lib';
import { startApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { waitFor } from '../utils/redis';

const PER_MS = 200;

/** Starts of the runs whose payload says `one`, on Redis's clock (ctx.startedAt). */
const starts: number[] = [];

@Injectable()
class GroupRatedTasks {
  @Task('rated.group', { groupRateLimit: { max: 3, perMs: PER_MS } })
  group(payload: { one?: boolean }, ctx: TaskContext) {
    if (payload.one) starts.push(ctx.startedAt!);
  }
}

@Module({ providers: [GroupRatedTasks] })
class GroupRatedTasksModule {}

/**
 * Rate limits' start records leave Redis once out of their window, though their window is never
 * counted again (includes/rate.lua trims a window only when it counts it): a group used once (a
 * customer, a tenant) left its records in the flow's starts set for good, so a queue rated per
 * group grew with every group it ever served.
 */
describe('flow control: rate-limit start records stay bounded', () => {
  const env = useProbeApps();

  it('removes the start records of groups never used again once their window passed', async () => {
    const t = await startApp({ prefix: env.prefix, imports: [GroupRatedTasksModule], options: { concurrency: 20 } });
    const handles = await t.client.enqueueMany(
      Array.from({ length: 60 }, (_, i) => ({ name: 'rated.group', payload: {}, options: { group: `customer-${i}` } })),
    );
    await Promise.all(handles.map((h) => h.result()));
    // A record per run, each in the window of a group of its own.
    expect(await env.redis.zcard(t.keys.flow.starts)).toBeGreaterThan(0);

    await waitFor(async () => (await env.redis.zcard(t.keys.flow.starts)) === 0, {
      timeoutMs: 5_000,
      description: `the starts set emptied once its records left their ${PER_MS} ms windows`,
    }).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${await env.redis.zcard(t.keys.flow.starts)} records left`);
    });
  });

  it('keeps the records still in their window: the limit holds', async () => {
    starts.length = 0;
    const t = await startApp({ prefix: env.prefix, imports: [GroupRatedTasksModule], options: { concurrency: 20 } });
    const handles = await t.client.enqueueMany(
      Array.from({ length: 9 }, () => ({ name: 'rated.group', payload: { one: true }, options: { group: 'one' } })),
    );
    await Promise.all(handles.map((h) => h.result()));
    const sorted = [...starts].sort((a, b) => a - b);
    expect(sorted).toHaveLength(9);
    // 9 runs at 3 per 200 ms: the 4th and 7th start a window after the 1st and 4th.
    expect(sorted[3] - sorted[0]).toBeGreaterThanOrEqual(PER_MS);
    expect(sorted[6] - sorted[3]).toBeGreaterThanOrEqual(PER_MS);
  });
});

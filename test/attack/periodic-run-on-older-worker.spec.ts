import type { Type } from '@nestjs/common';
import { periodicKey } from '../../lib';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp, type TestApp } from '../fixtures/test-app';
import { waitFor } from '../utils/redis';
import { NoTick, ScheduleVersionModule, TickEvery300, TickPlain } from '../generations/schedule-versions';

/**
 * A rolling deploy runs old and new workers side by side. A deploy that makes `tick` periodic (or
 * adds it, or moves it to a queue old workers also consume) puts its chain in place at the first
 * new worker's boot; a run of it that an old worker took (it defines `tick` without a schedule
 * there, or not at all) was acked without running, or dead-lettered as an unknown task, and
 * scheduled no successor: the chain ended, and the new workers that had booted already never put
 * it back (their next boot did). Such a run now ends its chain only when the worker taking it
 * booted after the last boot that defined the chain there (a deploy that removed the schedule);
 * else its successor follows the stored schedule. A review finding; the spec failed.
 */
describe('attack: a periodic run taken by a worker of the version before', () => {
  const env = useProbeApps();
  const { redis } = env;
  const key = periodicKey('tick');

  const start = (version: Type<unknown>): Promise<TestApp> =>
    startApp({ prefix: env.prefix, probe: env.probe, imports: [ScheduleVersionModule.register(env.probe, version)] });
  const generation = async (worker: TestApp) => Number(await redis.hget(worker.keys.keyState(key), 'gen'));
  const stateOf = (worker: TestApp) => redis.hget(worker.keys.keyState(key), 'state');

  it.each([
    ['defines tick without a schedule', TickPlain],
    ['does not know tick', NoTick],
  ])('the old worker %s: the chain goes on', async (_what, oldVersion) => {
    const old = await start(oldVersion);
    const fresh = await start(TickEvery300); // the new version boots: the chain is put in place
    await fresh.close(); // its next runs can only reach the old worker
    const from = await generation(old);
    // Each successor draws a generation: two more are two runs of the chain taken by the old worker.
    await waitFor(async () => (await generation(old)) >= from + 2, {
      timeoutMs: 5_000,
      description: 'the chain goes on',
    });
    expect(['delayed', 'queued', 'running']).toContain(await stateOf(old));
    expect(env.probe.runsOf('tick')).toEqual([]);
  });

  it.each([
    ['defines tick without a schedule', TickPlain],
    ['does not know tick', NoTick],
  ])('a new worker that %s (booted after the chain was defined): the chain ends', async (_what, newVersion) => {
    const old = await start(TickEvery300);
    const fresh = await start(newVersion);
    await old.close();
    await waitFor(async () => (await stateOf(fresh)) === 'completed' || (await stateOf(fresh)) === 'failed', {
      timeoutMs: 5_000,
      description: 'the chain ended',
    });
    expect(await redis.zrange(fresh.keys.delayed, 0, -1)).toEqual([]);
  });
});

import { periodicKey } from '../../lib';
import { Probe } from '../fixtures/probe';
import { useProbeApps } from '../fixtures/probe-apps';
import { logger, startApp, type TestApp } from '../fixtures/test-app';
import type { Type } from '@nestjs/common';
import { NoTick, ScheduleVersionModule, TickEvery300, TickPlain } from '../generations/schedule-versions';
import { Latch } from '../utils/latch';
import { waitFor } from '../utils/redis';

/**
 * Review finding: a rolling deploy whose new version drops a periodic `@Task` ends its chain when
 * a new worker settles a run of it (it booted after the last boot that defined the chain), but the
 * ended state (completed or failed, its stored schedule kept) expired after resultTtlMs, and an
 * old worker still running, which defines the chain, then took it for lost data: its restore
 * (after a reconnect, and every 30 sweep intervals) put a first run back, which a new worker ended
 * again, and so on while old workers ran. An ended chain now keeps its state without expiry, as a
 * chain stopped by cancel() does, so a restore leaves it alone; a boot of a version that defines
 * the chain still puts it back.
 */
describe('attack: a periodic chain ended by a deploy is not restored by old workers', () => {
  let gate: Latch;
  const env = useProbeApps({ beforeClose: () => gate.open() });
  const { redis } = env;
  const key = periodicKey('tick');
  beforeEach(() => {
    gate = new Latch();
  });

  const stateOf = (worker: TestApp) => redis.hget(worker.keys.keyState(key), 'state');
  const generation = async (worker: TestApp) => Number(await redis.hget(worker.keys.keyState(key), 'gen'));

  /**
   * An old worker (it defines `tick` every 300 ms) kept busy by one blocked run (concurrency 1),
   * so that the chain's next run reaches the new worker (it defines `tick` without a schedule, or
   * not at all), which ends the chain. Returns the old worker, still running, and the new one.
   */
  async function endChainWithOldWorkerRunning(
    newVersion: Type<unknown> = TickPlain,
  ): Promise<{ old: TestApp; fresh: TestApp }> {
    const oldProbe = new Probe().on('echo', () => gate.wait());
    const old = await startApp({
      prefix: env.prefix,
      probe: oldProbe,
      options: { resultTtlMs: 1_000, concurrency: 1 },
      imports: [ScheduleVersionModule.register(oldProbe, TickEvery300)],
    });
    await old.client.enqueue('echo', 'busy');
    await waitFor(() => oldProbe.runsOf('echo').length === 1, { description: 'the old worker is busy' });
    const freshProbe = new Probe();
    const fresh = await startApp({
      prefix: env.prefix,
      probe: freshProbe,
      options: { resultTtlMs: 1_000 },
      imports: [ScheduleVersionModule.register(freshProbe, newVersion)],
    });
    await waitFor(async () => ['completed', 'failed'].includes((await stateOf(fresh)) ?? ''), {
      timeoutMs: 5_000,
      description: 'the new worker ended the chain',
    });
    return { old, fresh };
  }

  it.each([
    ['defines tick without a schedule', TickPlain],
    ['does not know tick', NoTick],
  ])('the new worker %s: an old worker still running does not put the ended chain back', async (_what, newVersion) => {
    const { old, fresh } = await endChainWithOldWorkerRunning(newVersion);
    const mark = logger.lines.length;
    const ended = await generation(fresh);
    // Past the state’s expiry (1 s) and the old worker's restore timer (30 sweeps of 100 ms).
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const restored = logger.lines.slice(mark).filter((l) => /Restored periodic task "tick"/.test(l.message));
    expect(restored.map((l) => l.message)).toEqual([]);
    expect(await generation(old)).toBe(ended);
    expect(['completed', 'failed']).toContain(await stateOf(old));
    expect(await redis.pttl(old.keys.keyState(key))).toBe(-1);
    expect(await redis.zrange(old.keys.delayed, 0, -1)).toEqual([]);
  });

  it('a boot of a version that defines the chain puts it back, and it goes on', async () => {
    const { fresh } = await endChainWithOldWorkerRunning();
    await new Promise((resolve) => setTimeout(resolve, 500)); // past resultTtlMs
    const ended = await generation(fresh);
    const probe = new Probe();
    const rebooted = await startApp({
      prefix: env.prefix,
      probe,
      imports: [ScheduleVersionModule.register(probe, TickEvery300)],
    });
    // Booted after the new worker: the chain goes on whoever takes its runs.
    await waitFor(async () => (await generation(rebooted)) >= ended + 3, {
      timeoutMs: 5_000,
      description: 'the chain goes on after the boot',
    });
    expect(['delayed', 'queued', 'running']).toContain(await stateOf(rebooted));
    expect(await redis.hexists(rebooted.keys.keyState(key), 'ended')).toBe(0);
  });
});

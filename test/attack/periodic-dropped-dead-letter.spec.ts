import { periodicKey } from '../../lib';
import { Probe } from '../fixtures/probe';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import type { Type } from '@nestjs/common';
import { NoTick, ScheduleVersionModule, TickEvery300, TickPlain } from '../generations/schedule-versions';
import { Latch } from '../utils/latch';
import { waitFor } from '../utils/redis';

/**
 * Hole: a deploy that drops a periodic `@Task` schedule ends its chain when a worker of the new
 * version settles a run of it (complete.lua / fail.lua, includes/successor.lua: the settle says the
 * worker does not define the chain, with its boot's Redis time), but a run of the chain that the
 * new worker dead-letters (past maxDeliveries, found by its sweep) went through dead-letter.lua,
 * which scheduled a successor without that check: the dropped chain went on.
 */
describe('attack: a periodic run dead-lettered after its schedule was dropped', () => {
  let gate: Latch;
  const env = useProbeApps({ beforeClose: () => gate.open() });
  const { redis } = env;
  const key = periodicKey('tick');
  beforeEach(() => {
    gate = new Latch();
  });

  it.each([
    ['defines tick without a schedule', TickPlain],
    ['does not know tick', NoTick],
  ])('ends the chain when the new worker %s', async (_what, newVersion: Type<unknown>) => {
    // The old version: `tick` every 300 ms; its run blocks, and its close (deadline 200 ms)
    // leaves it pending, started once.
    const oldProbe = new Probe().on('tick', () => gate.wait());
    const old = await startApp({
      prefix: env.prefix,
      probe: oldProbe,
      options: { shutdownTimeoutMs: 200 },
      imports: [ScheduleVersionModule.register(oldProbe, TickEvery300)],
    });
    await waitFor(() => oldProbe.runsOf('tick').length === 1, { description: 'the old worker runs tick' });
    await old.close();
    const generation = await redis.hget(old.keys.keyState(key), 'gen');

    // The new version, booted later: its sweep takes the run over past maxDeliveries and dead-letters it.
    const freshProbe = new Probe();
    const fresh = await startApp({
      prefix: env.prefix,
      probe: freshProbe,
      options: { maxDeliveries: 1 },
      imports: [ScheduleVersionModule.register(freshProbe, newVersion)],
    });
    await waitFor(async () => (await redis.xlen(fresh.keys.deadLetter)) === 1, {
      timeoutMs: 5_000,
      description: 'the run dead-lettered',
    });
    const state = await redis.hgetall(fresh.keys.keyState(key));
    expect({
      state: state.state,
      gen: state.gen,
      ended: state.ended !== undefined,
      delayed: await redis.zcard(fresh.keys.delayed),
    }).toEqual({ state: 'failed', gen: generation, ended: true, delayed: 0 });
    expect(freshProbe.runsOf('tick')).toEqual([]);
  });
});

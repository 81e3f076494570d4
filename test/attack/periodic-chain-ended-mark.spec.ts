import type { Type } from '@nestjs/common';
import { periodicKey } from '../../lib';
import { Probe } from '../fixtures/probe';
import { useProbeApps } from '../fixtures/probe-apps';
import { logger, startApp, type TestApp } from '../fixtures/test-app';
import {
  NoTick,
  ScheduleVersionModule,
  TickEvery1500,
  TickEvery300,
  TickPlain,
} from '../generations/schedule-versions';
import { Latch, sleep } from '../utils/latch';
import { waitFor } from '../utils/redis';

/**
 * Review finding: the `ended` mark a deploy leaves on a `@Task` chain's key state (successor.lua;
 * it keeps the state without expiry so old workers do not restore the chain) outlives the writes
 * of one-off runs under the key: an enqueue of `periodic:<name>` by a version where the task is
 * plain, a redrive of the run that ended the chain. That is right while the chain stays ended (the
 * state must still not expire: the first block). But a boot of a version that defines the chain
 * (a rollback) that found such a run live took it for the chain (same definition: left alone;
 * changed while it ran: re-timed) and left the mark: when a worker of the other version settled
 * the run without a successor, the state was kept for ever as ended, so the booted workers never
 * restored the chain, and it stayed stopped until yet another boot.
 */
describe('attack: the ended mark of a periodic chain and later runs of its key', () => {
  let busy: Latch;
  let oneOff: Latch;
  const env = useProbeApps({
    beforeClose: () => {
      busy.open();
      oneOff.open();
    },
  });
  const { redis } = env;
  const key = periodicKey('tick');
  beforeEach(() => {
    busy = new Latch();
    oneOff = new Latch();
  });

  const stateKey = (worker: TestApp) => worker.keys.keyState(key);
  const stateOf = (worker: TestApp) => redis.hget(stateKey(worker), 'state');
  const generation = async (worker: TestApp) => Number(await redis.hget(stateKey(worker), 'gen'));
  const restoredLines = (mark: number) =>
    logger.lines
      .slice(mark)
      .filter((l) => /Restored periodic task "tick"/.test(l.message))
      .map((l) => l.message);

  /**
   * An old worker (`tick` every 300 ms) kept busy by one blocked run (concurrency 1), so the
   * chain's next run reaches a new worker of `newVersion`, which ends the chain (mark `ended`).
   * The new worker's own `tick` handler waits for `oneOff`.
   */
  async function endChain(newVersion: Type<unknown>): Promise<{ old: TestApp; fresh: TestApp }> {
    const oldProbe = new Probe().on('echo', () => busy.wait());
    const old = await startApp({
      prefix: env.prefix,
      probe: oldProbe,
      options: { resultTtlMs: 1_000, concurrency: 1 },
      imports: [ScheduleVersionModule.register(oldProbe, TickEvery300)],
    });
    await old.client.enqueue('echo', 'busy');
    await waitFor(() => oldProbe.runsOf('echo').length === 1, { description: 'the old worker is busy' });
    const freshProbe = new Probe().on('tick', () => oneOff.wait());
    const fresh = await startApp({
      prefix: env.prefix,
      probe: freshProbe,
      options: { resultTtlMs: 1_000 },
      imports: [ScheduleVersionModule.register(freshProbe, newVersion)],
    });
    await waitFor(async () => (await redis.hexists(stateKey(fresh), 'ended')) === 1, {
      timeoutMs: 5_000,
      description: 'the new worker ended the chain',
    });
    return { old, fresh };
  }

  describe('while old workers still run, a one-off run of the key leaves the chain ended', () => {
    it('an enqueue of the key by the version where tick is plain', async () => {
      const { old, fresh } = await endChain(TickPlain);
      oneOff.open();
      const handle = await fresh.client.enqueue('tick', 'one-off', { key });
      await handle.result({ timeoutMs: 5_000 });
      const mark = logger.lines.length;
      const settled = await generation(fresh);
      // Past the state’s expiry (1 s) and the old worker's restore timer (30 sweeps of 100 ms).
      await sleep(4_000);
      expect(restoredLines(mark)).toEqual([]);
      expect(await generation(old)).toBe(settled);
      expect(await stateOf(old)).toBe('completed');
      expect(await redis.pttl(stateKey(old))).toBe(-1);
    });

    it('a redrive of the run that ended the chain, by the version without tick', async () => {
      const { old, fresh } = await endChain(NoTick);
      const [dead] = (await fresh.client.list('dead')).tasks;
      expect(dead?.name).toBe('tick');
      await fresh.client.redrive(dead.deadLetterId!);
      await waitFor(
        async () => (await fresh.client.list('dead')).tasks.length === 1 && (await stateOf(fresh)) === 'failed',
        {
          description: 'the redriven run is dead-lettered again',
        },
      );
      const mark = logger.lines.length;
      const settled = await generation(fresh);
      await sleep(4_000);
      expect(restoredLines(mark)).toEqual([]);
      expect(await generation(old)).toBe(settled);
      expect(await redis.pttl(stateKey(old))).toBe(-1);
    });
  });

  it.each([
    ['the same definition (the live run is left alone)', TickEvery300],
    ['a changed definition (the running run is re-timed)', TickEvery1500],
  ])(
    'a rollback boot with %s, while a one-off run of the key runs: the chain comes back once it settles',
    async (_what, rollback) => {
      const { old, fresh } = await endChain(TickPlain);
      busy.open();
      await old.close();
      const handle = await fresh.client.enqueue('tick', 'one-off', { key });
      await waitFor(() => fresh.probe.runsOf('tick').length === 1, { description: 'the one-off run runs' });
      const oneOffGeneration = await generation(fresh);
      const probe = new Probe();
      const rolled = await startApp({
        prefix: env.prefix,
        probe,
        imports: [ScheduleVersionModule.register(probe, rollback)],
      });
      expect(await stateOf(rolled)).toBe('running');
      expect(await generation(rolled)).toBe(oneOffGeneration);
      oneOff.open();
      await handle.result({ timeoutMs: 5_000 });
      // The new worker settles it without a successor (a plain run of a task it defines plainly):
      // the chain, defined by the latest boot, must come back (restore), not stay ended.
      await waitFor(
        async () =>
          (await generation(rolled)) > oneOffGeneration &&
          ['delayed', 'queued', 'running'].includes((await stateOf(rolled)) ?? ''),
        { timeoutMs: 8_000, description: 'the chain comes back after the one-off run' },
      ).catch(async (error: Error) => {
        const state = await redis.hgetall(stateKey(rolled));
        const ttl = await redis.pttl(stateKey(rolled));
        throw new Error(`${error.message}; state ${JSON.stringify(state)}, PTTL ${ttl}`);
      });
      expect(await redis.hexists(stateKey(rolled), 'ended')).toBe(0);
    },
  );
});

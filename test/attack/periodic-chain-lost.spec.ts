import { periodicKey } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { Latch } from '../utils/helpers';
import { useProbeApps } from '../fixtures/probe-apps';
import { logger, startApp, type TestApp } from '../fixtures/test-app';
import { ScheduleVersionModule, TickEvery300 } from '../generations/schedule-versions';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { cleanupPrefix, waitFor } from '../utils/redis';

/**
 * A `@Task` chain was put in place at boot only. When Redis restarted empty (no persistence), or
 * someone deleted the chain's keys, the running workers kept running and the task never ran
 * again until a worker rebooted (no run within 8 s after either). A worker now puts its chains
 * back, through the boot's script in a mode that writes only when the chain is gone: at once when
 * its command connection is ready again after a reconnect, and on a slow timer (30 sweep
 * intervals) for keys lost without one. A chain stopped by cancel() is not lost: it stays
 * stopped, its state kept past resultTtlMs. A review finding; the spec failed.
 */
describe('attack: periodic chains lost while workers run', () => {
  const env = useProbeApps();
  const { redis } = env;
  const key = periodicKey('tick');
  const start = (options = {}): Promise<TestApp> =>
    startApp({
      prefix: env.prefix,
      probe: env.probe,
      options,
      imports: [ScheduleVersionModule.register(env.probe, TickEvery300)],
    });
  const ticks = () => env.probe.runsOf('tick').length;
  const ticksAfter = (from: number, count: number, timeoutMs = 8_000) =>
    waitFor(() => ticks() >= from + count, { timeoutMs, description: `${count} runs of tick after the loss` });

  describe('on a Redis that restarts empty', () => {
    let server: RedisServerHandle;
    beforeAll(async () => (server = await startRedisServer()));
    afterAll(() => server.stop());

    it('runs again after the reconnect, without a reboot', async () => {
      await start({ connection: { url: server.url } });
      await ticksAfter(0, 2);
      const mark = logger.lines.length;
      await server.restart();
      const from = ticks();
      await ticksAfter(from, 2);
      const restored = logger.lines.slice(mark).filter((l) => /Restored periodic task "tick"/.test(l.message));
      expect(restored.length).toBeGreaterThanOrEqual(1);
    });
  });

  it('runs again after its keys were deleted, with one chain however many workers', async () => {
    await Promise.all([start(), start()]);
    await ticksAfter(0, 2);
    await cleanupPrefix(redis, env.prefix);
    const from = ticks();
    await ticksAfter(from, 4);
    const runs = env.probe.runsOf('tick').slice(from);
    const generations = runs.map((r) => r.ctx.generation);
    expect(new Set(generations).size).toBe(generations.length);
    const members = await redis.zrange(new QueueKeys(env.prefix, 'default').delayed, 0, -1);
    expect(members.filter((m) => (JSON.parse(m) as { k?: string }).k === key).length).toBeLessThanOrEqual(1);
  });

  it('a chain stopped by cancel() stays stopped, also once its stopped state expired', async () => {
    const app = await start({ resultTtlMs: 1_000 });
    await ticksAfter(0, 1);
    await app.client.cancel(key);
    const from = ticks();
    // Past the restore timer (30 sweep intervals of 100 ms) and the state's expiry.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(ticks() - from).toBeLessThanOrEqual(1); // a run in flight at cancel() may still finish
    expect(await redis.hget(app.keys.keyState(key), 'state')).toBe('cancelled');
  });

  it('a chain cancelled while its run runs stays stopped, also once that run settled stale', async () => {
    const app = await start({ resultTtlMs: 1_000 });
    const gate = new Latch();
    env.probe.on('tick', () => gate.wait());
    await ticksAfter(0, 1);
    await waitFor(async () => (await redis.hget(app.keys.keyState(key), 'state')) === 'running');
    await app.client.cancel(key);
    const from = ticks();
    gate.open();
    // The stale settle, then past the restore timer (30 sweep intervals of 100 ms) and a TTL.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(ticks() - from).toBe(0);
    expect(await redis.hget(app.keys.keyState(key), 'state')).toBe('cancelled');
  });

  it('a chain whose waiting run was removed stays stopped, also once its state would have expired', async () => {
    const app = await start({ resultTtlMs: 1_000 });
    await ticksAfter(0, 1);
    await waitFor(async () => (await redis.hget(app.keys.keyState(key), 'state')) === 'delayed');
    const waiting = await redis.hget(app.keys.keyState(key), 'id');
    await app.client.remove(waiting!);
    const from = ticks();
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(ticks() - from).toBe(0);
    expect(await redis.hget(app.keys.keyState(key), 'state')).toBe('cancelled');
  });

  // A purge (DEL of the stream, or of its entry while its worker was dead: the sweep drops such
  // an entry) took the running run's delivery with it: its settle found nothing pending and wrote
  // nothing, and the key state said 'running' for good, which restores and boots left alone.
  it('runs again after its stream was deleted while its run ran (a purge)', async () => {
    const app = await start();
    const gate = new Latch();
    env.probe.on('tick', () => gate.wait());
    await ticksAfter(0, 1);
    await waitFor(async () => (await redis.hget(app.keys.keyState(key), 'state')) === 'running');
    await redis.del(app.keys.stream);
    const from = ticks();
    gate.open();
    await ticksAfter(from, 2);
  });

  it('runs again after its waiting run alone was deleted (the delayed set), its key state kept', async () => {
    const app = await start();
    await ticksAfter(0, 1);
    await waitFor(async () => (await redis.hget(app.keys.keyState(key), 'state')) === 'delayed');
    await redis.del(app.keys.delayed);
    const from = ticks();
    await ticksAfter(from, 2);
  });
});

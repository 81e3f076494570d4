import { TerminusModule } from '@nestjs/terminus';
import { StreamQueueHealthIndicator, StreamQueueHealthModule } from '../../lib/terminus';
import { Probe } from '../fixtures/probe';
import { closeApps, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';
import { healthDown, healthUpAgain } from '../fixtures/health-check';
import { LAST_ENTRY_ID } from '../fixtures/last-entry-id';

/*
 * A run's settle refused for good (its last failure's dead letter, the dead-letter stream out of
 * ids: anyone with Redis access can XSETID it) was retried every 500 ms with a log line, its
 * entry held by this live worker for good (never reclaimed, never dead-lettered), and the check
 * said down only while no other run settled: beside runs that settle it stayed up (a review
 * finding; it failed).
 */
describe('health: a worker one of whose runs is refused its settle for good', () => {
  const redis = createRedis();
  const prefix = randomPrefix();
  afterEach(() => closeApps());
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it('is down once that run has been refused for 5 s while others settle; up again once it settles', async () => {
    const probe = new Probe().on('once', () => {
      throw new Error('boom');
    });
    const t = await startApp({ prefix, probe, imports: [StreamQueueHealthModule, TerminusModule] });
    const indicator = t.app.get(StreamQueueHealthIndicator);
    await redis.xadd(t.keys.deadLetter, '*', 'x', '1');
    await redis.xsetid(t.keys.deadLetter, LAST_ENTRY_ID);
    const failing = await t.client.enqueue('once', 'x');
    await waitFor(() => t.probe.runsOf('once').length === 1, { description: 'the failing run' });
    // Other runs settle all along.
    let settled = 0;
    const down = await healthDown(indicator, async () => {
      const n = settled++;
      await expect((await t.client.enqueue('echo', n)).result({ timeoutMs: 5_000 })).resolves.toBe(n);
    });
    expect(down.queue).toMatchObject({ redis: 'up', lease: 'held', consumers: { default: true } });
    expect(down.queue.message).toMatch(
      /^settles of queue "default" failing for \d+ ms: .*exhausted the last possible ID/,
    );
    expect(Number(/failing for (\d+) ms/.exec(String(down.queue.message))![1])).toBeGreaterThanOrEqual(5_000);

    // The dead-letter stream takes ids again: the run is dead-lettered, and the check is up.
    await redis.del(t.keys.deadLetter);
    await expect(failing.result({ timeoutMs: 10_000 })).rejects.toThrow(/boom/);
    await healthUpAgain(indicator);
    expect(t.probe.runsOf('once')).toHaveLength(1);
  }, 45_000);
});

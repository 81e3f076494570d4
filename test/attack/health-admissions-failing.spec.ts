import { TerminusModule } from '@nestjs/terminus';
import { StreamQueueHealthIndicator, StreamQueueHealthModule } from '../../lib/terminus';
import { useAclRedis } from '../fixtures/acl-redis';
import { echoBlockedBy, Probe } from '../fixtures/probe';
import { startApp } from '../fixtures/test-app';
import { Latch } from '../utils/latch';
import { randomPrefix, waitFor } from '../utils/redis';
import { healthDown, healthUpAgain } from '../fixtures/health-check';

/*
 * The check watched reads and settles, not the step between them: a worker whose every claim
 * failed (an ACL that lets it read and settle but refuses INCR, which the keyed claim calls for
 * its fencing number) read each keyed task, could not start it, gave it back for the next
 * recovery, and so on for good: nothing ran, no read or settle failed, and the check said up
 * (a review finding; it failed).
 */
describe('health: a worker whose admissions fail', () => {
  const redis = useAclRedis('claim-acl-secret');

  /** A producer with every right, and a worker (with the health check) whose user may not INCR. */
  const boot = async () => {
    const prefix = randomPrefix();
    const workerUrl = await redis.userDenied('worker', 'incr');
    const producer = await startApp({ prefix, options: { connection: { url: redis.url() }, worker: false } });
    const worker = await startApp({
      prefix,
      options: { connection: { url: workerUrl }, blockMs: 100 },
      imports: [StreamQueueHealthModule, TerminusModule],
    });
    return { producer, worker, indicator: worker.app.get(StreamQueueHealthIndicator) };
  };

  it('is down once every admission has failed for 5 s, up again once one succeeds', async () => {
    const { producer, worker, indicator } = await boot();
    const handles = await Promise.all(['a', 'b', 'c'].map((key) => producer.client.enqueue('echo', key, { key })));
    const down = await healthDown(indicator);
    expect(down.queue).toMatchObject({ redis: 'up', lease: 'held', consumers: { default: true } });
    expect(down.queue.message).toMatch(/^admissions of queue "default" failing for \d+ ms: .*can't run this command/);
    expect(worker.probe.runs).toHaveLength(0);

    await redis.allow('worker', 'incr');
    await expect(Promise.all(handles.map((h) => h.result({ timeoutMs: 15_000 })))).resolves.toEqual(['a', 'b', 'c']);
    await healthUpAgain(indicator);
  }, 60_000);

  // A second review finding: the streak ended once no admission had failed for two sweep +
  // recovery-idle spells (4 s here), but the recovery pages across sweeps (200 entries a sweep)
  // and skips the entries of runs in progress: behind 1 001 of them, the run given back is
  // tried again once per pass of 6 pages (6 s), so the streak ended between tries and the check
  // said up, or never down, while the keyed task could not start.
  it('stays down while a run it gave back waits behind more runs in progress than a recovery page', async () => {
    const gate = new Latch();
    const probe = new Probe().on('echo', echoBlockedBy(gate));
    const prefix = randomPrefix();
    const workerUrl = await redis.userDenied('worker', 'incr');
    const producer = await startApp({ prefix, options: { connection: { url: redis.url() }, worker: false } });
    // blockMs 100: a recovery idle time of 1 s; sweeps 1 s apart.
    const worker = await startApp({
      prefix,
      probe,
      options: { connection: { url: workerUrl }, blockMs: 100, sweepIntervalMs: 1_000, concurrency: 1_100 },
      imports: [StreamQueueHealthModule, TerminusModule],
    });
    const indicator = worker.app.get(StreamQueueHealthIndicator);
    try {
      // Unkeyed runs need no claim: they start, and hold their entries while the gate is shut.
      const inProgress = 1_001;
      await producer.client.enqueueMany(Array.from({ length: inProgress }, () => ({ name: 'echo', payload: 'block' })));
      await waitFor(() => probe.runs.length === inProgress, { description: 'the runs in progress', timeoutMs: 20_000 });
      await producer.client.enqueue('echo', 'keyed', { key: 'k' });
      await waitFor(async () => (await indicator.isHealthy('queue')).queue.status === 'down', {
        description: 'the check down',
        timeoutMs: 20_000,
        intervalMs: 200,
      });
      // Two passes of the recovery and more: down all along, the keyed run never started.
      const seen = new Set<string>();
      for (const end = performance.now() + 9_000; performance.now() < end;) {
        const { queue } = await indicator.isHealthy('queue');
        seen.add(queue.status === 'down' ? String(queue.message).replace(/\d+ ms/, 'N ms') : 'up');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect([...seen]).toEqual([expect.stringMatching(/^admissions of queue "default" failing for N ms/)]);
      expect(probe.runs.filter((r) => r.payload === 'keyed')).toHaveLength(0);
    } finally {
      gate.open();
    }
  }, 90_000);

  it('is up again once the runs it could not start are gone, though none was admitted since', async () => {
    const { producer, worker, indicator } = await boot();
    await producer.client.enqueue('echo', 'x', { key: 'gone' });
    await waitFor(async () => (await indicator.isHealthy('queue')).queue.status === 'down', {
      description: 'the check down',
      timeoutMs: 15_000,
      intervalMs: 200,
    });
    // An operator cancels the key: its entry leaves the stream, so nothing is left to admit.
    await expect(producer.client.cancel('gone')).resolves.toBe(true);
    await waitFor(async () => (await indicator.isHealthy('queue')).queue.status === 'up', {
      description: 'the check up again',
      timeoutMs: 15_000,
      intervalMs: 200,
    });
    expect(worker.probe.runs).toHaveLength(0);
  }, 60_000);
});

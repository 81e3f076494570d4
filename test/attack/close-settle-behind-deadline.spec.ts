import { SweepLock } from '../../lib/consumer/sweep-lock';
import { useProbeApps } from '../fixtures/probe-apps';
import { RequestHoldingProxy } from '../fixtures/request-holding-proxy';
import { logger, startApp } from '../fixtures/test-app';
import { keysMatching, waitFor } from '../utils/redis';

/*
 * Review finding: at app.close(), a run that finished before the deadline had its settle
 * (complete.lua) sent on the command connection, while the liveness keys were deleted by the
 * heartbeat thread on its own connection. A command connection backed up past the deadline (and
 * its second of grace) let the DEL reach Redis first: another worker's sweep took the run over
 * and ran it again, and the late settle was fenced. The keys now go only once every settle sent
 * was answered; one still unanswered leaves them to expire.
 */
describe("attack: app.close() while a finished run's settle waits on a backed-up command connection", () => {
  const env = useProbeApps();
  const proxy = new RequestHoldingProxy();
  afterAll(() => proxy.stop());

  it('does not delete the liveness keys before the settle: the task does not run again elsewhere', async () => {
    env.probe.on('once', (payload) => (env.probe.runs.length > 1 ? 'ran again' : `done:${String(payload)}`));
    const port = await proxy.start();
    const released = jest.spyOn(SweepLock.prototype, 'release');
    const worker = await startApp({
      prefix: env.prefix,
      probe: env.probe,
      options: {
        connection: { url: `redis://127.0.0.1:${port}` },
        leaseMs: 3_000,
        heartbeatIntervalMs: 200,
        shutdownTimeoutMs: 200,
        sweepIntervalMs: 60_000,
      },
    });
    // Its first sweep done (the only one, sweepIntervalMs aside): a sweep lock whose release
    // waited in the proxy behind the settle would hold the other worker's sweep off for a lease.
    await waitFor(() => released.mock.calls.length > 0, { description: "the first worker's first sweep" });
    released.mockRestore();
    const producer = await startApp({ prefix: env.prefix, probe: env.probe, options: { worker: false } });
    const marker = `done:held-${env.prefix}`;
    proxy.holdRequestsFrom(marker);
    const handle = await producer.client.enqueue('once', `held-${env.prefix}`);
    await waitFor(() => env.probe.runs.length === 1 && proxy.held > 0, { description: 'the settle held in the proxy' });

    // A second worker whose sweep takes the run over as soon as the first one's liveness is gone.
    await startApp({ prefix: env.prefix, probe: env.probe, options: { sweepIntervalMs: 50 } });
    const warned = logger.lines.length;
    const closing = worker.close();
    await waitFor(
      () =>
        logger.lines.slice(warned).some((l) => l.message.startsWith('Shutdown deadline passed with runs in flight')),
      { description: 'the first worker gave its lease up' },
    );
    // Both workers' liveness keys are still there: the first one's is left to expire.
    const alive = await keysMatching(env.redis, `{${env.prefix}:default}:alive:*`);
    // Its liveness keys deleted, the second worker would reclaim within a sweep or two (50 ms each).
    await new Promise((resolve) => setTimeout(resolve, 500));
    const runsBeforeRelease = env.probe.runs.length;
    proxy.releaseAll();
    await closing;

    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe(marker);
    // Past the first worker's lease: whatever it left would have been reclaimed by now.
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    expect({ runsBeforeRelease, runs: env.probe.runs.length, alive: alive.length }).toEqual({
      runsBeforeRelease: 1,
      runs: 1,
      alive: 2,
    });
    expect(logger.lines.slice(warned).some((l) => l.message.includes('liveness keys are left to expire'))).toBe(true);
  }, 30_000);
});

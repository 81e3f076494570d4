import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { waitFor } from '../utils/redis';

/*
 * Review finding: a handler that returned just after app.close()'s shutdownTimeoutMs (its signal
 * aborted, the worker still holding its lease for the second it waits for such runs) had its
 * value thrown away: the run was left pending, and the worker that took it over ran it again,
 * side effects and all, though this one had finished it and could still settle it. A lost lease
 * settles such a late value (Redis's fence decides); the shutdown deadline did not.
 */
describe('attack: app.close() past its deadline, the handler returning just after it', () => {
  const env = useProbeApps();

  it('settles what it returned: the task does not run again elsewhere', async () => {
    let aborted = false;
    env.probe.on('once', async (payload, ctx) => {
      if (env.probe.runs.length > 1) return 'ran again';
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
      aborted = true;
      return payload; // finishes its step, then returns: just past the deadline
    });
    const worker = await startApp({ prefix: env.prefix, probe: env.probe, options: { shutdownTimeoutMs: 200 } });
    const producer = await startApp({ prefix: env.prefix, probe: env.probe, options: { worker: false } });
    const handle = await producer.client.enqueue('once', 'finished once');
    await waitFor(() => env.probe.runs.length === 1, { description: 'the run started' });

    await worker.close();
    expect(aborted).toBe(true);

    await startApp({ prefix: env.prefix, probe: env.probe });
    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('finished once');
    expect(env.probe.runs).toHaveLength(1);
  }, 30_000);
});

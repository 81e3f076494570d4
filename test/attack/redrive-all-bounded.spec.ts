import { FleetReads } from '../../lib/client/fleet-reads';
import { QueueKeys } from '../../lib/redis/keys';
import { defineScripts } from '../../lib/redis/scripts';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { createRedis, waitFor } from '../utils/helpers';
import { interceptCommands } from '../fixtures/command-hooks';

/**
 * redriveAll() paged the dead-letter stream oldest first up to '+': a redriven task that failed
 * again was dead-lettered under a newer id, and the same call redrove it again. With a live
 * worker the call never ended and a maxAttempts-1 task ran dozens of times. The call now stops at
 * the newest dead letter present when it starts (a review finding; both cases failed).
 */
describe('attack: redriveAll() against tasks that fail again while it runs', () => {
  const env = useProbeApps();
  const N = 101; // one more than redriveAll's page
  const failing = () => {
    throw new Error('boom');
  };

  it('redrives each dead letter present at the call once, even when the next page reads after they failed again', async () => {
    const keys = new QueueKeys(env.prefix, 'default');
    const worker = await startApp({ prefix: env.prefix, probe: env.probe.on('once', failing) });
    for (let i = 0; i < N; i++) await worker.client.enqueue('once', i);
    await waitFor(async () => (await env.redis.xlen(keys.deadLetter)) === N, { timeoutMs: 20_000 });
    const runsBefore = env.probe.runs.length;

    // The second page's read waits until the worker has run (and dead-lettered again) every task
    // the first page redrove: the interleaving a live worker produces anyway.
    const conn = createRedis();
    defineScripts(conn);
    let pages = 0;
    const proxy = interceptCommands(conn, {
      xrange: async (args, send) => {
        const start = String(args[1]);
        if ((start === '-' || start.startsWith('(')) && ++pages === 2) {
          await waitFor(() => env.probe.runs.length - runsBefore >= N - 1, { timeoutMs: 20_000 });
          await waitFor(async () => (await env.redis.xlen(keys.deadLetter)) === N, { timeoutMs: 20_000 });
          await worker.close(); // no more runs: what is queued now stays queued
        }
        return send();
      },
    });
    const result = await new FleetReads(proxy, (q) => [new QueueKeys(env.prefix, q)], 3_600_000).redriveAll();

    expect({ redriven: result.redriven, queuedAgain: await env.redis.xlen(keys.stream) }).toEqual({
      redriven: N,
      queuedAgain: 1, // only the 101st, which the first page did not reach
    });
  }, 60_000);

  it('with a live worker, one redriveAll of 2N dead letters returns and runs each task once', async () => {
    const keys = new QueueKeys(env.prefix, 'default');
    const worker = await startApp({
      prefix: env.prefix,
      probe: env.probe.on('once', failing),
      options: { concurrency: 50 },
    });
    for (let i = 0; i < 2 * N; i++) await worker.client.enqueue('once', i);
    await waitFor(async () => (await env.redis.xlen(keys.deadLetter)) === 2 * N, { timeoutMs: 20_000 });
    const runsBefore = env.probe.runs.length;
    const outcome = await Promise.race([
      worker.client.redriveAll().then((r) => `returned, redriven ${r.redriven}`),
      new Promise<string>((resolve) => setTimeout(() => resolve('still running after 15 s'), 15_000)),
    ]);
    await waitFor(() => env.probe.runs.length - runsBefore >= 2 * N, { timeoutMs: 20_000 });
    await worker.close();
    const perId = new Map<string, number>();
    for (const r of env.probe.runs.slice(runsBefore)) perId.set(r.ctx.id, (perId.get(r.ctx.id) ?? 0) + 1);
    expect({
      outcome,
      runs: env.probe.runs.length - runsBefore,
      mostRunsOfOneTask: Math.max(...perId.values()),
    }).toEqual({
      outcome: `returned, redriven ${2 * N}`,
      runs: 2 * N,
      mostRunsOfOneTask: 1,
    });
  }, 60_000);
});

import { ConsumerHost } from '../../lib/consumer/consumer.host';
import { holdHeartbeatRestart, leaseKeeperOf } from '../fixtures/held-heartbeat-restart';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { Latch } from '../utils/latch';
import { waitFor } from '../utils/redis';

/**
 * Sibling of unconfirmed-abort-keyed-run.spec.ts: there the keyed run was running when the lease
 * went unconfirmed, and its abort asks a renewal of the liveness value. Here the worker is idle
 * then; its blocking read, sent while the lease was held, hands a keyed entry over afterwards:
 * claim.lua marks the run running under the key's current value (rliv) and the TaskRunner does
 * not start it (the lease is unconfirmed). The key never lapses, so, its stream purged, the run
 * abandoned so was judged held by its live owner for good (enqueue() of the key returned it).
 */
describe('attack: a keyed run claimed while the lease is unconfirmed, never started', () => {
  const env = useProbeApps();
  // Unconfirmed (nothing starts) 6 s after the last confirmed beat, the key expires 9 s after it;
  // the shared read blocks for 30 s, so the one sent at start is still out then.
  const options = { leaseMs: 9_000, heartbeatIntervalMs: 3_000, blockMs: 30_000, concurrency: 2 };

  it('enqueue() of the key adds a run once the unstarted one was abandoned', async () => {
    env.probe.on('echo', (payload: unknown) => payload);
    const w = await startApp({ prefix: env.prefix, probe: env.probe, options });
    const alive = w.keys.alive(w.app.get(ConsumerHost).consumerName);
    const restart = new Latch();
    const restarted = holdHeartbeatRestart(w, restart);
    await leaseKeeperOf(w).thread!.terminate();
    await waitFor(() => !leaseKeeperOf(w).isHeld(), { description: 'the lease unconfirmed', timeoutMs: 8_000 });

    // The blocking read sent while the lease was held hands it over now: claimed, not started.
    const first = await w.client.enqueue('echo', 'first', { key: 'k' });
    await waitFor(async () => (await w.client.status('k'))?.state === 'running', {
      description: 'the run claimed',
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(env.probe.runs).toEqual([]);

    // The key never lapsed: the restarted thread finds it there.
    expect(await env.redis.pttl(alive)).toBeGreaterThan(0);
    restart.open();
    await restarted;
    expect(await env.redis.get(alive)).not.toBeNull();
    await env.redis.del(w.keys.stream);

    const second = await w.client.enqueue('echo', 'second', { key: 'k' });
    expect({ created: second.created, same: second.id === first.id }).toEqual({ created: true, same: false });
    await expect(second.result({ timeoutMs: 5_000 })).resolves.toBe('second');
    expect(env.probe.runs.map((r) => r.payload)).toEqual(['second']);
  }, 30_000);
});

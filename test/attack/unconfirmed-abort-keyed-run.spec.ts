import { TaskSupersededError } from '../../lib';
import { ConsumerHost } from '../../lib/consumer/consumer.host';
import { echoBlockedBy } from '../fixtures/probe';
import { abortedUnconfirmed } from '../fixtures/held-heartbeat-restart';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { Latch } from '../utils/latch';
import { waitFor } from '../utils/redis';

/**
 * Attack on field rliv: a worker aborts its runs with LeaseLostError when no heartbeat was
 * confirmed for leaseMs - heartbeatIntervalMs ('unconfirmed': its heartbeat thread died and is
 * restarting, a beat's reply is late), a beat before the key could lapse, and leaves them
 * unsettled. When the heartbeat came back before the key expired, the key kept its value: a
 * keyed run aborted so, its stream purged, was judged by runLeaseHeld as still held by its owner
 * (the value it was claimed under), so every enqueue() of the key returned the abandoned run and
 * a replace() was deferred for as long as the worker lived, though nothing will settle it. The
 * sibling of keyed-run-lease-regained.spec.ts, where the key lapsed in Redis too.
 */
describe('attack: a keyed run aborted for an unconfirmed lease whose key never lapsed', () => {
  const env = useProbeApps();
  // The abort comes after 4 s without a confirmed beat, the key's expiry 6 s after the last beat.
  const options = { leaseMs: 6_000, heartbeatIntervalMs: 2_000, concurrency: 2 };

  it('enqueue() adds a run once the aborted run was abandoned, and the late settle writes nothing', async () => {
    const gate = new Latch();
    env.probe.on('echo', echoBlockedBy(gate));
    const w = await startApp({ prefix: env.prefix, probe: env.probe, options });
    const first = await w.client.enqueue('echo', 'block', { key: 'k' });
    await waitFor(() => env.probe.runs.some((r) => r.payload === 'block'), { description: "'block' running" });
    const alive = w.keys.alive(w.app.get(ConsumerHost).consumerName);
    await env.redis.del(w.keys.stream);

    // The heartbeat thread dies; its restart is held until the runs were aborted as unconfirmed.
    const restart = new Latch();
    const { restarted } = await abortedUnconfirmed(w, restart);
    // The key never lapsed: the restarted thread finds it there.
    expect(await env.redis.pttl(alive)).toBeGreaterThan(0);
    restart.open();
    await restarted;
    expect(await env.redis.get(alive)).not.toBeNull();

    const second = await w.client.enqueue('echo', 'second', { key: 'k' });
    expect({ created: second.created, same: second.id === first.id }).toEqual({ created: true, same: false });
    await expect(second.result({ timeoutMs: 5_000 })).resolves.toBe('second');
    await expect(first.result({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(TaskSupersededError);
    gate.open();
    await waitFor(() => w.events.counters()['superseded-tail'] + w.events.counters()['completion-refused'] === 1, {
      description: 'the late settle refused',
    });
    expect(await w.client.status('k')).toMatchObject({ state: 'completed', id: second.id });
    expect(env.probe.runs.map((r) => r.payload)).toEqual(['block', 'second']);
  }, 30_000);
});

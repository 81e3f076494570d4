import { LeaseLostError } from '../../lib';
import { ConsumerHost } from '../../lib/consumer/consumer.host';
import { echoBlockedBy } from '../fixtures/probe';
import { holdHeartbeatRestart, leaseKeeperOf } from '../fixtures/held-heartbeat-restart';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp, type TestApp } from '../fixtures/test-app';
import { Latch } from '../utils/latch';
import { waitFor } from '../utils/redis';

/*
 * Review finding: a heartbeat thread that dies is restarted (LeaseKeeper.onThreadDeath), and the
 * new thread started with an empty record of the keys it had written. A liveness key deleted
 * around the restart (an operator's DEL, an eviction) was found gone by the new thread's first
 * beat and written again, with a new value, as a first beat writes a key: no lapse reported.
 * Another worker could reclaim the runs while the key was gone, and this worker's handlers were
 * not aborted (the same run twice at once), nor its lease's chain (heldSince) broken; a keyed
 * run, its claim recording the old value, was judged gone while its handler went on. A restart
 * without a deletion must still report nothing.
 */
describe('attack: a liveness key deleted while the heartbeat thread restarts', () => {
  const env = useProbeApps();
  // A long lease: the restart is held well inside it, so no "unconfirmed" abort comes first.
  const options = { leaseMs: 6_000, heartbeatIntervalMs: 200, concurrency: 2 };

  const runsOf = (payload: string) => env.probe.runs.filter((r) => r.payload === payload);

  /** `w`'s thread killed with its restart held, its liveness key deleted, the restart let go. */
  async function deletedAcrossRestart(w: TestApp, ownerKey: string, during?: () => Promise<void>) {
    const keeper = leaseKeeperOf(w);
    const restart = new Latch();
    const restarted = holdHeartbeatRestart(w, restart);
    const before = await env.redis.get(ownerKey);
    expect(before).not.toBeNull();
    await keeper.thread!.terminate();
    await env.redis.del(ownerKey);
    await during?.();
    restart.open();
    await restarted;
    const after = await env.redis.get(ownerKey);
    expect(after).not.toBeNull();
    expect(after).not.toBe(before);
  }

  it('a run another worker reclaimed during the gap is aborted here: not twice at once', async () => {
    const gate = new Latch();
    env.probe.on('echo', echoBlockedBy(gate));
    const a = await startApp({ prefix: env.prefix, probe: env.probe, options });
    const handle = await a.client.enqueue('echo', 'block');
    await waitFor(() => runsOf('block').length === 1, { description: 'the run started on A' });
    const runA = runsOf('block')[0];
    const alive = a.keys.alive(a.app.get(ConsumerHost).consumerName);

    await deletedAcrossRestart(a, alive, async () => {
      // While A's key is gone, B (a second worker) reclaims the run and starts it again.
      await startApp({ prefix: env.prefix, probe: env.probe, options });
      await waitFor(() => runsOf('block').length === 2, { description: 'the run reclaimed and started on B' });
    });

    expect(a.events.counters()['lease-lost']).toBe(1);
    expect(runA.ctx.signal.aborted).toBe(true);
    expect(runA.ctx.signal.reason).toBeInstanceOf(LeaseLostError);
    gate.open();
    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('block');
  }, 30_000);

  it('a keyed run is aborted and the lease held anew from the restarted beat on', async () => {
    const gate = new Latch();
    env.probe.on('echo', echoBlockedBy(gate));
    const w = await startApp({ prefix: env.prefix, probe: env.probe, options });
    const keeper = leaseKeeperOf(w);
    await w.client.enqueue('echo', 'block', { key: 'k' });
    await waitFor(() => runsOf('block').length === 1, { description: 'the keyed run started' });
    const run = runsOf('block')[0];
    const alive = w.keys.alive(w.app.get(ConsumerHost).consumerName);
    const heldSince = keeper.heldSince();
    expect(heldSince).toBeLessThan(Infinity);

    await deletedAcrossRestart(w, alive);

    // The run's claim recorded the value the key held before: it is judged gone...
    expect(await env.redis.hget(w.keys.keyState('k'), 'rliv')).not.toBe(await env.redis.get(alive));
    // ...and its handler was told so, as a lapse seen by a living thread tells it.
    expect(w.events.counters()['lease-lost']).toBe(1);
    expect(run.ctx.signal.aborted).toBe(true);
    expect(keeper.heldSince()).toBeGreaterThan(heldSince);
    gate.open();
  }, 30_000);

  it('a restart that finds the key still there reports nothing: the run goes on, the lease unbroken', async () => {
    const gate = new Latch();
    env.probe.on('echo', echoBlockedBy(gate));
    const w = await startApp({ prefix: env.prefix, probe: env.probe, options });
    const keeper = leaseKeeperOf(w);
    const handle = await w.client.enqueue('echo', 'block', { key: 'k' });
    await waitFor(() => runsOf('block').length === 1, { description: 'the keyed run started' });
    const run = runsOf('block')[0];
    const alive = w.keys.alive(w.app.get(ConsumerHost).consumerName);
    const heldSince = keeper.heldSince();
    const value = await env.redis.get(alive);

    const restart = new Latch();
    const restarted = holdHeartbeatRestart(w, restart);
    const first = keeper.thread!;
    await first.terminate();
    restart.open();
    await restarted;
    expect(keeper.thread).not.toBe(first);

    expect(await env.redis.get(alive)).toBe(value);
    expect(w.events.counters()['lease-lost']).toBe(0);
    expect(run.ctx.signal.aborted).toBe(false);
    expect(keeper.heldSince()).toBe(heldSince);
    gate.open();
    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('block');
    expect(runsOf('block')).toHaveLength(1);
  }, 30_000);
});

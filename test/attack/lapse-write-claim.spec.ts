import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { leaseKeeperOf } from '../fixtures/held-heartbeat-restart';
import { useProbeApps } from '../fixtures/probe-apps';
import { workerWithHeldLapseRewrite } from '../fixtures/held-lapse-rewrite';
import { HalfOpenProxy } from '../utils/half-open-proxy';
import { waitFor } from '../utils/redis';

/**
 * Review finding (the explorer's trace lapse-rewrite-strands-claim.json): after a lapse the
 * heartbeat writes the liveness key with a new value (SET NX). A keyed claim that Redis ran after
 * that write, but before its reply reached the worker, marked the run running under the new value
 * (field rliv), one the worker did not yet know as its own; the run was not started (the lapse
 * broke the lease after its read was sent) and no renewal was asked (keyedRunUnstarted takes the
 * value for the old one). Its entry deleted, the stranded run named a live owner whose key held
 * the value it was claimed under: runLeaseHeld judged it held, and enqueue() of the key returned
 * the dead run for as long as the worker lived without another lapse.
 */
describe('attack: a keyed claim between a lapse write and its reply', () => {
  const env = useProbeApps();
  const proxy = new HalfOpenProxy();
  afterAll(() => proxy.stop());
  // A beat every 3 s waits 6 s for its reply; the shared read blocks for 30 s, so the one sent at
  // start is still out at the lapse, and recovery (idle 60 s) does not bring the entry back.
  const options = { leaseMs: 12_000, heartbeatIntervalMs: 3_000, blockMs: 30_000 };

  it('enqueue() of the key adds a run once the unstarted one is purged', async () => {
    // The key lapses; the beat writes it again (the only SET NX of it), and that reply is held.
    const { w, alive, release } = await workerWithHeldLapseRewrite(env, proxy, options);
    const written = await env.redis.get(alive);

    // The read sent before the lapse hands the run over now: claimed, not started, given back.
    const first = await w.client.enqueue('echo', 'first', { key: 'k' });
    const pendingRow = async () =>
      (await env.redis.xpending(w.keys.stream, CONSUMER_GROUP, '-', '+', 10)) as [string, string, number, number][];
    await waitFor(async () => (await pendingRow())[0]?.[3] === 0, { description: 'the delivery given back' });
    expect(env.probe.runs).toEqual([]);

    // An operator deletes its entry: nothing will run it, and the key must not stay held by it.
    // Deleted before the beat is confirmed: the first confirmed beat would take the run again
    // (UnprovenRetakes) and run it.
    const [[entryId]] = await pendingRow();
    await env.redis.xdel(w.keys.stream, entryId);
    release();
    await waitFor(() => leaseKeeperOf(w).isHeld() && leaseKeeperOf(w).heldSince() < Infinity, {
      description: 'the lease held again',
      timeoutMs: 8_000,
    });
    expect(await env.redis.get(alive)).toBe(written);
    const second = await w.client.enqueue('echo', 'second', { key: 'k' });
    expect({ created: second.created, same: second.id === first.id }).toEqual({ created: true, same: false });
    await expect(second.result({ timeoutMs: 5_000 })).resolves.toBe('second');
    expect(env.probe.runs.map((r) => r.payload)).toEqual(['second']);
  }, 40_000);
});

import { InFlight } from '../../lib/consumer/in-flight';
import { Intake } from '../../lib/consumer/intake';
import { monotonicMs } from '../../lib/consumer/lease';
import { Slots } from '../../lib/consumer/slots';
import { UnprovenRetakes } from '../../lib/consumer/unproven-retakes';
import { recoverScript } from '../../lib/scripts/recover.script';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { leaseKeeperOf } from '../fixtures/held-heartbeat-restart';
import { settleContext } from '../fixtures/settle-context';
import { useProbeApps } from '../fixtures/probe-apps';
import type { TestApp } from '../fixtures/test-app';
import { ScriptFixture } from '../scripts/script-fixture';
import { workerWithHeldLapseRewrite } from '../fixtures/held-lapse-rewrite';
import { closeAll } from '../utils/helpers';
import { HalfOpenProxy } from '../utils/half-open-proxy';
import { waitFor } from '../utils/redis';

type PendingRow = [string, string, number, number];

/**
 * Review finding: after a Redis restart without persistence (here: the worker's liveness key
 * deleted), a keyed claim sent before the next beat's write was confirmed answers code 5
 * (unproven) and the intake gives the delivery back, still pending under this consumer. Only
 * the sweep's recovery took it again, so with sweepIntervalMs 60 s the task waited up to a
 * minute although the next confirmed beat proved the lease a few seconds later. It is now taken
 * again (recover.lua, which checks it is still this consumer's) at the first confirmed beat.
 */
describe('attack: a keyed run given back unproven after its liveness key vanished', () => {
  const env = useProbeApps();
  const proxy = new HalfOpenProxy();
  afterAll(() => proxy.stop());
  // A beat every 3 s; the recovery (idle 60 s, every 60 s) cannot bring the entry back in time.
  const heartbeatIntervalMs = 3_000;
  const options = { leaseMs: 12_000, heartbeatIntervalMs, blockMs: 30_000, sweepIntervalMs: 60_000 };

  /**
   * A worker whose liveness key vanished and whose beat wrote it again, the reply of that write
   * held: a keyed task enqueued now is claimed unproven and given back. Returns the release of
   * the held reply (the beat is confirmed then), the task's handle and its stream entry id.
   */
  async function givenBackUnproven(): Promise<{ w: TestApp; release: () => void; entryId: string; handle: unknown }> {
    const { w, release } = await workerWithHeldLapseRewrite(env, proxy, options);
    const handle = await w.client.enqueue('echo', 'first', { key: 'k' });
    let entryId = '';
    await waitFor(
      async () => {
        const [row] = await pendingRows(w);
        entryId = row?.[0] ?? '';
        return row?.[3] === 0;
      },
      { description: 'the delivery given back' },
    );
    expect(env.probe.runs).toEqual([]);
    return { w, release, entryId, handle };
  }

  const pendingRows = async (w: TestApp) =>
    (await env.redis.xpending(w.keys.stream, CONSUMER_GROUP, '-', '+', 10)) as PendingRow[];

  /** Waits for `n` more beats of `w` that Redis confirmed. */
  async function confirmedBeats(w: TestApp, n: number): Promise<void> {
    const keeper = leaseKeeperOf(w);
    await waitFor(() => keeper.isHeld() && keeper.heldSince() < Infinity, {
      description: 'the lease held again',
      timeoutMs: 8_000,
    });
    await new Promise((resolve) => setTimeout(resolve, n * heartbeatIntervalMs));
  }

  it('runs once the next beat is confirmed, not at the next sweep, and exactly once', async () => {
    const { w, release } = await givenBackUnproven();
    const releasedAt = Date.now();
    release();
    await waitFor(() => env.probe.runs.length > 0, {
      description: 'the run retaken within two heartbeat intervals',
      timeoutMs: 2 * heartbeatIntervalMs,
    });
    expect(Date.now() - releasedAt).toBeLessThan(2 * heartbeatIntervalMs);
    await waitFor(async () => (await w.client.status('k'))?.state === 'completed', {
      description: 'the run completed',
    });
    await confirmedBeats(w, 2);
    expect(env.probe.runs.map((r) => r.payload)).toEqual(['first']);
    expect(await pendingRows(w)).toEqual([]);
  }, 40_000);

  it('one another worker reclaimed meanwhile is not run here', async () => {
    const { w, release, entryId } = await givenBackUnproven();
    // Another worker took it over (the liveness key was gone: a reclaim's XCLAIM).
    await env.redis.xclaim(w.keys.stream, CONSUMER_GROUP, 'other-worker', 0, entryId);
    release();
    await confirmedBeats(w, 2);
    expect(env.probe.runs).toEqual([]);
    const [row] = await pendingRows(w);
    expect({ id: row[0], owner: row[1] }).toEqual({ id: entryId, owner: 'other-worker' });
    expect((await w.client.status('k'))?.state).toBe('queued');
  }, 40_000);

  it('a worker closing before the beat is confirmed takes nothing back, and closes', async () => {
    const { w, release, entryId } = await givenBackUnproven();
    await w.close();
    release();
    await new Promise((resolve) => setTimeout(resolve, heartbeatIntervalMs));
    expect(env.probe.runs).toEqual([]);
    // Left pending for another worker's reclaim (its liveness key deleted by the close).
    const [row] = await pendingRows(w);
    expect({ id: row[0], deliveries: row[3] }).toEqual({ id: entryId, deliveries: 0 });
  }, 40_000);
});

/**
 * A run retaken at a confirmed beat and also taken back by the sweep's recovery in the same
 * moment (both send recover.lua before either admits) runs once: the intake marks an entry in
 * flight before its first await and admits no entry already in flight. Not the claim's fencing:
 * claim.lua answers 'run' to the same consumer's second claim of its running entry (a resent
 * claim, a reclaim), with a new fence that only refuses the first run's settle.
 */
describe('attack: a run given back unproven, retaken and recovered at once', () => {
  let f: ScriptFixture;
  beforeEach(() => (f = new ScriptFixture()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  async function givenBack() {
    const { ctx, keys } = await settleContext(f.redis, f.prefix, f.keys.queue);
    const lane = { ...ctx, inFlight: new InFlight(), slots: new Slots(4) };
    await f.enqueue({ key: 'k' });
    await f.redis.xreadgroup('GROUP', lane.group, lane.consumer, 'STREAMS', keys.stream, '>');
    const [[entryId]] = (await f.redis.xpending(keys.stream, lane.group, '-', '+', 10)) as [string][];
    const retakes = new UnprovenRetakes(lane);
    retakes.remember([entryId]);
    // The sweep's recovery, as Sweeper.recover sends it (its slot reserved first).
    const recover = async () => {
      lane.slots.reserve(1);
      const sentAt = monotonicMs();
      const entries = await recoverScript(keys, {
        group: lane.group,
        consumer: lane.consumer,
        entryIds: [entryId],
      }).run(f.redis);
      return { entries, sentAt };
    };
    return { lane, keys, retakes, recover };
  }

  it('is admitted once: one run, one claim', async () => {
    const { lane, keys, retakes, recover } = await givenBack();
    const intake = new Intake(lane);
    const [swept, retaken] = await Promise.all([recover(), retakes.take()]);
    expect([swept.entries.length, retaken.entries.length]).toEqual([1, 1]);
    const ready = (await Promise.all([intake.admit(swept), intake.admit(retaken)])).flat();
    expect(ready).toHaveLength(1);
    expect(Number(await f.redis.hget(keys.keyState('k'), 'fence'))).toBe(ready[0].fence);
    expect(lane.slots.free).toBe(3);
  });

  it('control: without the in-flight check the claim lets the same consumer run it twice', async () => {
    const { lane, retakes, recover } = await givenBack();
    const [swept, retaken] = await Promise.all([recover(), retakes.take()]);
    // Two intakes, each with its own in-flight set: the second claim answers 'run' again.
    const first = await new Intake(lane).admit(swept);
    const second = await new Intake({ ...lane, inFlight: new InFlight() }).admit(retaken);
    expect([first.length, second.length]).toEqual([1, 1]);
    expect(second[0].fence).toBeGreaterThan(first[0].fence!);
  });
});

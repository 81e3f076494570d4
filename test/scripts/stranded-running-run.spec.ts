import { claimScript } from '../../lib/scripts/claim.script';
import { enqueueScript } from '../../lib/scripts/enqueue.script';
import { closeAll } from '../utils/helpers';
import { GROUP, LEASE_MS, ScriptFixture } from './script-fixture';

const KEY = 'k';

/**
 * A keyed run stranded while it runs: its stream deleted (its group with it) or its entry
 * deleted, so nothing but its owner can end it (see includes/stranded-run.lua). enqueue.lua
 * takes it for gone only once its owner's liveness key expired, or holds another value than the
 * run was claimed under (field rliv: that lease lapsed and was taken again), asking the caller to
 * judge that owner (code 2); the owner's late settle is then fenced by the new generation. A live owner's
 * settle still ends it (complete.lua, fail.lua: recordsRunHere).
 */
describe('scripts: a keyed running run whose stream or entry was deleted', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  /** A run of KEY enqueued, delivered to and claimed by `owner` (alive): its ids. */
  async function runningOn(owner: string) {
    await f.alive(owner);
    const [id, gen] = await f.enqueue({ key: KEY });
    const [[entryId]] = await f.deliver(owner);
    expect(await f.claim(owner, [{ entryId, key: KEY, gen }])).toEqual(['run']);
    return { id, gen, entryId };
  }

  /** The stream deleted under the run; with `regroup`, its group made again as a worker's next read does. */
  async function dropStream(regroup: boolean) {
    await f.redis.del(f.keys.stream);
    if (regroup) await f.redis.xgroup('CREATE', f.keys.stream, GROUP, '0', 'MKSTREAM');
  }

  const firstCallArgs = (id: string) => ({
    id,
    name: 'job',
    payload: '{}',
    delayMs: 0,
    runAt: 0,
    partitions: 1,
    mode: 'add' as const,
    key: KEY,
    everyMs: 0,
    periodic: false,
  });
  const firstCall = (id: string) => enqueueScript(f.keys, firstCallArgs(id)).run(f.redis);

  it.each([false, true])('its owner alive (group made again: %s): an enqueue returns it', async (regroup) => {
    const run = await runningOn('w1');
    await dropStream(regroup);
    // The first call names the owner to judge and writes nothing.
    expect(await firstCall('t-asking')).toEqual({ outcome: 'judge-owner', id: 't-asking', owner: 'w1' });
    expect(await f.keyState(KEY)).toMatchObject({ state: 'running', id: run.id, rown: 'w1' });
    expect(await f.enqueue({ key: KEY })).toEqual([run.id, run.gen, 'existing']);
  });

  it('its entry XDELed, its owner alive: an enqueue returns it', async () => {
    const run = await runningOn('w1');
    await f.redis.xdel(f.keys.stream, run.entryId);
    expect(await f.enqueue({ key: KEY })).toEqual([run.id, run.gen, 'existing']);
  });

  it('its entry still there, its owner dead: a reclaim runs it, so an enqueue returns it (asks nothing)', async () => {
    const run = await runningOn('w1');
    await f.redis.del(f.keys.alive('w1'));
    expect(await firstCall('t-plain')).toEqual({ outcome: 'existing', id: run.id, generation: run.gen });
  });

  it('its owner dead: a new run, and the late complete or fail of the owner writes nothing', async () => {
    const old = await runningOn('w1');
    await dropStream(true);
    await f.redis.del(f.keys.alive('w1')); // its lease lapsed
    const [id, gen, outcome] = await f.enqueue({ key: KEY });
    expect(outcome).toBe('created');
    expect(gen).toBeGreaterThan(old.gen);
    // w1 was only cut off: its settles come late. Before the new run starts, the state still
    // records w1's run, and the new generation fences it; after, the state names w2's run.
    expect(await f.complete('w1', [{ entryId: old.entryId, id: old.id, gen: old.gen, key: KEY }])).toEqual([
      'superseded',
    ]);
    const [[entryId]] = await f.deliver('w2');
    await f.alive('w2');
    expect(await f.claim('w2', [{ entryId, key: KEY, gen }])).toEqual(['run']);
    expect(await f.fail('w1', { entryId: old.entryId, id: old.id, gen: old.gen, key: KEY, retryDelayMs: 0 })).toBe(
      'not-pending',
    );
    expect(await f.redis.zcard(f.keys.delayed)).toBe(0);
    expect(await f.redis.exists(f.keys.result(old.id))).toBe(0);
    expect(await f.keyState(KEY)).toMatchObject({ state: 'running', id, rmid: entryId, rown: 'w2' });

    expect(await f.complete('w2', [{ entryId, id, gen, key: KEY }])).toEqual(['completed']);
    expect(await f.keyState(KEY)).toMatchObject({ state: 'completed', id });
  });

  it('its entry XDELed, its owner dead: a new run (no wait for a sweep to drop the pending row)', async () => {
    const old = await runningOn('w1');
    await f.redis.xdel(f.keys.stream, old.entryId);
    await f.redis.del(f.keys.alive('w1'));
    const [id, , outcome] = await f.enqueue({ key: KEY });
    expect(outcome).toBe('created');
    expect(id).not.toBe(old.id);
  });

  it("another owner judged than the state's: the run is taken for live", async () => {
    const run = await runningOn('w1');
    await dropStream(true);
    await f.redis.del(f.keys.alive('w1'));
    const judgingAnother = await enqueueScript(f.keys, {
      id: 't-judging',
      name: 'job',
      payload: '{}',
      delayMs: 0,
      runAt: 0,
      partitions: 1,
      mode: 'add',
      key: KEY,
      everyMs: 0,
      periodic: false,
      judgedOwner: 'w9',
    }).run(f.redis);
    expect(judgingAnother).toEqual({ outcome: 'existing', id: run.id, generation: run.gen });
  });

  describe("its owner's lease lapsed and taken again (its liveness key holds another value than at the claim)", () => {
    /** w1's lease taken again after a lapse: its heartbeat writes a value the key never held. */
    const leaseRegained = () => f.redis.set(f.keys.alive('w1'), '2', 'PX', LEASE_MS);

    it('the claim records the lease the run runs under', async () => {
      await runningOn('w1');
      expect(await f.keyState(KEY)).toMatchObject({ rown: 'w1', rliv: '1' });
    });

    it('a claim under a value its worker does not know as its own writes nothing; purged, the run is replaced', async () => {
      // The lapse's write ran, its reply not yet back: w1 knows only the value before ('1').
      await f.alive('w1');
      const [, gen] = await f.enqueue({ key: KEY });
      const [[entryId]] = await f.deliver('w1');
      await leaseRegained();
      expect(await f.claim('w1', [{ entryId, key: KEY, gen }], 50, '1')).toEqual(['unproven']);
      expect(await f.keyState(KEY)).toMatchObject({ state: 'queued', mid: entryId });
      expect(await f.keyState(KEY)).not.toHaveProperty('rliv');
      expect(await f.pendingOwner(entryId)).toBe('w1');
      // Nor while the worker knows none ('' : that write's reply not back, nothing confirmed before).
      expect(await f.claim('w1', [{ entryId, key: KEY, gen }], 50, '')).toEqual(['unproven']);
      // Confirmed, a claim (w1's recovery) runs it under that value.
      expect(await f.claim('w1', [{ entryId, key: KEY, gen }], 50, '2')).toEqual(['run']);
      expect(await f.keyState(KEY)).toMatchObject({ state: 'running', rmid: entryId, rliv: '2' });
    });

    it('left queued by an unproven claim, its entry deleted: an enqueue adds a run', async () => {
      await f.alive('w1');
      const [id, gen] = await f.enqueue({ key: KEY });
      const [[entryId]] = await f.deliver('w1');
      await leaseRegained();
      expect(await f.claim('w1', [{ entryId, key: KEY, gen }], 50, '1')).toEqual(['unproven']);
      await f.redis.xdel(f.keys.stream, entryId);
      const [next, , outcome] = await f.enqueue({ key: KEY });
      expect({ outcome, same: next === id }).toEqual({ outcome: 'created', same: false });
    });

    it('an enqueue adds a run, and the late settle of the aborted run writes nothing', async () => {
      const old = await runningOn('w1');
      await dropStream(true);
      await leaseRegained();
      const [id, gen, outcome] = await f.enqueue({ key: KEY });
      expect(outcome).toBe('created');
      expect(id).not.toBe(old.id);
      expect(await f.complete('w1', [{ entryId: old.entryId, id: old.id, gen: old.gen, key: KEY }])).toEqual([
        'superseded',
      ]);
      expect(await f.keyState(KEY)).toMatchObject({ state: 'queued', id, gen: String(gen) });
    });

    it('the judged call resent after its reply was lost answers the run it wrote, and writes nothing more', async () => {
      await runningOn('w1');
      await dropStream(true);
      await leaseRegained();
      const judged = () => enqueueScript(f.keys, { ...firstCallArgs('t-judged'), judgedOwner: 'w1' }).run(f.redis);
      const written = await judged();
      expect(written).toMatchObject({ outcome: 'created', id: 't-judged' });
      const state = await f.keyState(KEY);
      expect(await judged()).toMatchObject({
        outcome: 'created',
        id: 't-judged',
        generation: state.gen && Number(state.gen),
      });
      expect(await f.keyState(KEY)).toEqual(state);
    });

    it('a replace()d run is claimed (it was deferred for as long as the owner lived)', async () => {
      await runningOn('w1');
      await dropStream(true);
      await f.alive('w2');
      const [id, gen] = await f.enqueue({ key: KEY, mode: 'replace' });
      const [[entryId]] = await f.deliver('w2');
      await leaseRegained();
      expect(await f.claim('w2', [{ entryId, key: KEY, gen }])).toEqual(['run']);
      expect(await f.keyState(KEY)).toMatchObject({ state: 'running', id, rmid: entryId, rown: 'w2', rliv: '1' });
    });

    it('the same owner claiming the replace()d run after its own lease came back: it runs', async () => {
      await runningOn('w1');
      await dropStream(true);
      const [id, gen] = await f.enqueue({ key: KEY, mode: 'replace' });
      await leaseRegained();
      const [[entryId]] = await f.deliver('w1');
      expect(await f.claim('w1', [{ entryId, key: KEY, gen }])).toEqual(['run']);
      expect(await f.keyState(KEY)).toMatchObject({ id, rmid: entryId, rown: 'w1', rliv: '2' });
    });

    it("a run claimed while its owner's key was gone records no lease: any key written later is another", async () => {
      const [, gen] = await f.enqueue({ key: KEY });
      const [[entryId]] = await f.deliver('w1');
      expect(await f.claim('w1', [{ entryId, key: KEY, gen }])).toEqual(['run']);
      expect(await f.keyState(KEY)).toMatchObject({ rown: 'w1', rliv: '' });
      await dropStream(true);
      await f.alive('w1');
      expect((await f.enqueue({ key: KEY }))[2]).toBe('created');
    });

    it('a state claimed before the field existed (no rliv): judged by the key existing, as before', async () => {
      const run = await runningOn('w1');
      await dropStream(true);
      await f.redis.hdel(f.keys.keyState(KEY), 'rliv');
      await leaseRegained();
      expect(await f.enqueue({ key: KEY })).toEqual([run.id, run.gen, 'existing']);
    });

    it("an owner's key that is no string (anyone can write it): the run is taken for live, nothing fails", async () => {
      const run = await runningOn('w1');
      await dropStream(true);
      await f.redis.del(f.keys.alive('w1'));
      await f.redis.hset(f.keys.alive('w1'), 'x', '1');
      expect(await f.enqueue({ key: KEY })).toEqual([run.id, run.gen, 'existing']);
    });

    it('a claim by an owner whose key is no string records no lease: it is judged by its key existing', async () => {
      await f.redis.hset(f.keys.alive('w1'), 'x', '1');
      const [id, gen] = await f.enqueue({ key: KEY });
      const [[entryId]] = await f.deliver('w1');
      expect(await f.claim('w1', [{ entryId, key: KEY, gen }])).toEqual(['run']);
      expect(await f.keyState(KEY)).toMatchObject({ id, rown: 'w1' });
      expect(await f.keyState(KEY)).not.toHaveProperty('rliv');
      await dropStream(true);
      expect(await f.enqueue({ key: KEY })).toEqual([id, gen, 'existing']);
    });
  });

  it('an empty owner written by hand names no one: the run is taken for live, the enqueue does not fail', async () => {
    const run = await runningOn('w1');
    await dropStream(true);
    await f.redis.hset(f.keys.keyState(KEY), 'rown', '');
    expect(await f.enqueue({ key: KEY })).toEqual([run.id, run.gen, 'existing']);
  });

  it('its owner alive, the stream gone: its complete settles the key (nothing to ack)', async () => {
    const run = await runningOn('w1');
    await dropStream(true);
    expect(await f.complete('w1', [{ entryId: run.entryId, id: run.id, gen: run.gen, key: KEY }])).toEqual([
      'completed',
    ]);
    expect(await f.keyState(KEY)).toMatchObject({ state: 'completed', id: run.id });
    expect(await f.keyState(KEY)).not.toHaveProperty('rmid');
    // A resend of that settle finds nothing recorded any more: already settled, as before.
    expect(await f.complete('w1', [{ entryId: run.entryId, id: run.id, gen: run.gen, key: KEY }])).toEqual([
      'not-pending',
    ]);
  });

  it('its owner alive, the stream gone: its fail schedules the retry', async () => {
    const run = await runningOn('w1');
    await dropStream(true);
    expect(await f.fail('w1', { entryId: run.entryId, id: run.id, gen: run.gen, key: KEY, retryDelayMs: 60_000 })).toBe(
      'retry-scheduled',
    );
    expect(await f.keyState(KEY)).toMatchObject({ state: 'delayed', id: run.id, attempt: '2' });
    expect(await f.redis.zcard(f.keys.delayed)).toBe(1);
  });

  it('another worker than the one the state records: still not pending, nothing written', async () => {
    const run = await runningOn('w1');
    await dropStream(true);
    expect(await f.complete('w2', [{ entryId: run.entryId, id: run.id, gen: run.gen, key: KEY }])).toEqual([
      'not-pending',
    ]);
    expect(await f.keyState(KEY)).toMatchObject({ state: 'running', rown: 'w1' });
  });

  describe('a replace() meanwhile: the new run is claimed only once the old one cannot run any more', () => {
    /** w1's run, its stream deleted and its group made again, then KEY replaced and delivered to w2. */
    async function replacedAfterPurge() {
      const old = await runningOn('w1');
      await dropStream(true);
      await f.alive('w2');
      const [id, gen] = await f.enqueue({ key: KEY, mode: 'replace' });
      const [[entryId]] = await f.deliver('w2');
      return { old, next: { id, gen, entryId } };
    }

    const firstClaim = (run: { id: string; gen: number; entryId: string }) =>
      claimScript(f.keys, {
        group: GROUP,
        consumer: 'w2',
        deferMs: 50,
        stateTtlMs: LEASE_MS,
        liveness: '1', // w2's, as f.alive writes it
        messages: [{ entryId: run.entryId, taskId: run.id, generation: run.gen, key: KEY }],
      }).run(f.redis);

    it('its owner alive: the first claim names it and writes nothing; judged, the new run is deferred', async () => {
      const { old, next } = await replacedAfterPurge();
      expect(await firstClaim(next)).toEqual([{ verdict: 'judge-owner', owner: 'w1' }]);
      expect(await f.pendingOwner(next.entryId)).toBe('w2');
      expect(await f.keyState(KEY)).toMatchObject({ state: 'queued', rmid: old.entryId, rown: 'w1' });
      expect(await f.claim('w2', [{ entryId: next.entryId, key: KEY, gen: next.gen }])).toEqual(['deferred']);
      expect(await f.keyState(KEY)).toMatchObject({ state: 'queued', rown: 'w1' });
      expect(await f.redis.zcard(f.keys.delayed)).toBe(1);
    });

    it("its owner's settle ends the old run: the new run is claimed, in one call", async () => {
      const { old, next } = await replacedAfterPurge();
      expect(await f.complete('w1', [{ entryId: old.entryId, id: old.id, gen: old.gen, key: KEY }])).toEqual([
        'superseded',
      ]);
      expect(await firstClaim(next)).toMatchObject([{ verdict: 'run' }]);
      expect(await f.keyState(KEY)).toMatchObject({ state: 'running', id: next.id, rmid: next.entryId, rown: 'w2' });
    });

    it("its owner's lease lapsed: the new run is claimed", async () => {
      const { next } = await replacedAfterPurge();
      await f.redis.del(f.keys.alive('w1'));
      expect(await f.claim('w2', [{ entryId: next.entryId, key: KEY, gen: next.gen }])).toEqual(['run']);
      expect(await f.keyState(KEY)).toMatchObject({ state: 'running', id: next.id, rown: 'w2' });
    });

    it("a claim judging another owner than the state's: deferred, to be judged again", async () => {
      const { next } = await replacedAfterPurge();
      await f.redis.del(f.keys.alive('w1'));
      const judgingAnother = await claimScript(f.keys, {
        group: GROUP,
        consumer: 'w2',
        deferMs: 50,
        stateTtlMs: LEASE_MS,
        messages: [{ entryId: next.entryId, taskId: next.id, generation: next.gen, key: KEY, judgedOwner: 'w9' }],
      }).run(f.redis);
      expect(judgingAnother).toEqual([{ verdict: 'deferred' }]);
    });

    it('the old delivery still pending (no purge): deferred by the first call, no owner asked', async () => {
      const old = await runningOn('w1');
      const [id, gen] = await f.enqueue({ key: KEY, mode: 'replace' });
      const [[entryId]] = await f.deliver('w2');
      expect(await firstClaim({ id, gen, entryId })).toEqual([{ verdict: 'deferred' }]);
      expect(await f.keyState(KEY)).toMatchObject({ rmid: old.entryId, rown: 'w1' });
    });
  });
});

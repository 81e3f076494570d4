import { cancelScript } from '../../lib/scripts/cancel.script';
import { closeAll } from '../utils/helpers';
import { GROUP, LEASE_MS, ScriptFixture } from './script-fixture';

const KEY = 'k';
const TTL_MS = 60_000;

/**
 * cancel.lua over a keyed run stranded while it runs (its stream deleted, its group with it:
 * only its owner can still settle it, see includes/stranded-run.lua). As enqueue.lua does, it
 * asks the caller to judge that owner (code 2, nothing written) and ends the run once the lease
 * it was claimed under lapsed: cancelled, its running record dropped, its state expiring, its
 * waiters told. While that lease holds, the owner's settle ends it (releaseKey).
 */
describe('scripts: cancel of a keyed running run whose stream was deleted', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  /** A run of KEY claimed by `owner` (alive), then its stream deleted and its group made again. */
  async function strandedOn(owner: string) {
    await f.alive(owner);
    const [id, gen] = await f.enqueue({ key: KEY });
    const [[entryId]] = await f.deliver(owner);
    expect(await f.claim(owner, [{ entryId, key: KEY, gen }])).toEqual(['run']);
    await f.redis.del(f.keys.stream);
    await f.redis.xgroup('CREATE', f.keys.stream, GROUP, '0', 'MKSTREAM');
    return { id, gen, entryId, key: KEY };
  }

  const call = (a: { callId?: string; judgedOwner?: string } = {}) =>
    cancelScript(f.keys, { key: KEY, stateTtlMs: TTL_MS, partitions: 1, ...a }).run(f.redis);

  /** The state a cancel that ended the run leaves: cancelled, no running record, expiring. */
  async function expectEnded(id: string) {
    const state = await f.keyState(KEY);
    expect(state).toMatchObject({ state: 'cancelled', id, xid: id });
    for (const field of ['rmid', 'rown', 'fence', 'rliv', 'rtid']) expect(state).not.toHaveProperty(field);
    expect(await f.redis.pttl(f.keys.keyState(KEY))).toBeGreaterThan(TTL_MS - 10_000);
  }

  it('the first call names the owner and writes nothing, records nothing', async () => {
    await strandedOn('w1');
    const before = await f.keyState(KEY);
    const seq = await f.redis.get(f.keys.seq);
    expect(await call({ callId: 'c1' })).toEqual({ outcome: 'judge-owner', owner: 'w1' });
    expect(await f.keyState(KEY)).toEqual(before);
    expect(await f.redis.get(f.keys.seq)).toBe(seq);
    expect(await f.redis.exists(f.keys.cancelCall('c1'))).toBe(0);
  });

  it('its owner dead: cancelled and ended; the late settle of the owner writes nothing', async () => {
    const run = await strandedOn('w1');
    await f.redis.del(f.keys.alive('w1'));
    expect(await f.cancel(KEY, TTL_MS)).toBe('cancelled');
    await expectEnded(run.id);
    const ended = await f.keyState(KEY);
    expect(await f.complete('w1', [run])).toEqual(['not-pending']);
    expect(await f.fail('w1', { ...run, retryDelayMs: 0 })).toBe('not-pending');
    expect(await f.keyState(KEY)).toEqual(ended);
    expect(await f.redis.zcard(f.keys.delayed)).toBe(0);
  });

  it('its lease lapsed and taken again (another liveness value than at the claim): ended', async () => {
    const run = await strandedOn('w1');
    await f.redis.set(f.keys.alive('w1'), '2', 'PX', LEASE_MS);
    expect(await f.cancel(KEY, TTL_MS)).toBe('cancelled');
    await expectEnded(run.id);
  });

  it('its owner alive: cancelled, kept for its settle, which releases the key', async () => {
    const run = await strandedOn('w1');
    expect(await f.cancel(KEY, TTL_MS)).toBe('cancelled');
    expect(await f.keyState(KEY)).toMatchObject({ state: 'cancelled', rmid: run.entryId, rown: 'w1' });
    expect(await f.redis.pttl(f.keys.keyState(KEY))).toBe(-1);
    expect(await f.complete('w1', [run])).toEqual(['superseded']);
    expect(await f.keyState(KEY)).not.toHaveProperty('rmid');
    expect(await f.redis.pttl(f.keys.keyState(KEY))).toBeGreaterThan(0);
  });

  it("a call judging another owner than the state's: the run is taken for live", async () => {
    const run = await strandedOn('w1');
    await f.redis.del(f.keys.alive('w1'));
    expect(await call({ judgedOwner: 'w9' })).toBe('cancelled');
    expect(await f.keyState(KEY)).toMatchObject({ state: 'cancelled', rmid: run.entryId });
    expect(await f.redis.pttl(f.keys.keyState(KEY))).toBe(-1);
  });

  it('a queued run behind an older stranded run whose owner died: both ended', async () => {
    await strandedOn('w1');
    const [id] = await f.enqueue({ key: KEY, mode: 'replace' });
    await f.redis.del(f.keys.alive('w1'));
    expect(await f.cancel(KEY, TTL_MS)).toBe('cancelled');
    await expectEnded(id);
    expect(await f.redis.xlen(f.keys.stream)).toBe(0);
  });

  it('the judged call resent after its reply was lost answers as it did, and writes nothing more', async () => {
    const run = await strandedOn('w1');
    await f.redis.del(f.keys.alive('w1'));
    expect(await call({ callId: 'c2' })).toEqual({ outcome: 'judge-owner', owner: 'w1' });
    expect(await call({ callId: 'c2', judgedOwner: 'w1' })).toBe('cancelled');
    const state = await f.keyState(KEY);
    expect(await call({ callId: 'c2', judgedOwner: 'w1' })).toBe('cancelled');
    expect(await f.keyState(KEY)).toEqual(state);
    await expectEnded(run.id);
  });
});

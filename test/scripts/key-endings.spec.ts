import { closeAll } from '../utils/redis';
import { GROUP, LEASE_MS, ScriptFixture } from './script-fixture';

/**
 * Issue 9, holes 2-4, on the scripts: a generation never repeats, and every way a keyed run ends
 * leaves its key state live or expiring, never stuck. Each case failed on the 0.1 scripts.
 */
describe('key states: generations never repeat, every ending releases the key', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it('hole 2: a message read before a cancel never runs, even after the key state was deleted', async () => {
    const [oldId, oldGen] = await f.enqueue({ key: 'k' });
    const [[entry]] = await f.deliver('a'); // read before the cancel landed
    expect(await f.cancel('k', 0)).toBe('cancelled'); // a state TTL of 0 deletes the key state at once
    expect(await f.redis.exists(f.keys.keyState('k'))).toBe(0);
    const [newId, newGen] = await f.enqueue({ key: 'k' });
    // 0.1 restarted the per-key counter at 1: the cancelled gen-1 message passed the head check.
    expect(newGen).toBeGreaterThan(oldGen);
    expect(await f.claim('a', [{ entryId: entry, id: oldId, key: 'k', gen: oldGen }])).toEqual(['stale']);
    const state = await f.keyState('k');
    expect(state).toMatchObject({ id: newId, gen: String(newGen), state: 'queued' });
  });

  it('hole 2: the head check compares the task id, not only the generation', async () => {
    const [id, gen] = await f.enqueue({ key: 'k' });
    const [[entry]] = await f.deliver('a');
    expect(await f.claim('a', [{ entryId: entry, id: `not-${id}`, key: 'k', gen }])).toEqual(['stale']);
  });

  it('hole 3: a keyed entry dead-lettered as malformed ends its run: state failed, with a TTL', async () => {
    const [id] = await f.enqueue({ key: 'k' });
    const [[entry]] = await f.deliver('a');
    expect(await f.deadLetter('a', entry, 'payload too large', { id, key: 'k' })).toBe('dead-lettered');
    expect(await f.keyState('k')).toMatchObject({ state: 'failed', error: 'payload too large' });
    expect(await f.redis.pttl(f.keys.keyState('k'))).toBeGreaterThan(0);
    // So the next enqueue of the key is a new run, not the dead one.
    const [next, , created] = await f.enqueue({ key: 'k' });
    expect([next === id, created]).toEqual([false, 'created']);
    // And result() learns it failed.
    expect(JSON.parse((await f.redis.get(f.keys.result(id)))!)).toMatchObject({ ok: false });
  });

  it('hole 3: a keyed run past the delivery limit ends the same way (poison through dead-letter.lua)', async () => {
    const [id, gen] = await f.enqueue({ key: 'k' });
    const [[entry]] = await f.deliver('w1');
    expect(await f.claim('w1', [{ entryId: entry, id, key: 'k', gen }])).toEqual(['run']);
    await f.redis.xclaim(f.keys.stream, GROUP, 'w2', 0, entry); // w1 died mid-run; so did w2
    const { claimed, poison } = await f.reclaim('sweeper', [[entry, 'w2']], 2);
    expect([claimed.length, poison.length]).toEqual([0, 1]);
    expect(await f.deadLetter('sweeper', entry, 'poison', { id, key: 'k' })).toBe('dead-lettered');
    const state = await f.keyState('k');
    expect(state).toMatchObject({ state: 'failed' });
    expect(state.rmid).toBeUndefined();
    expect(await f.redis.pttl(f.keys.keyState('k'))).toBeGreaterThan(0);
  });

  it('hole 4: cancel() of a running run whose worker then dies: the key state expires', async () => {
    const [id, gen] = await f.enqueue({ key: 'k' });
    const [[entry]] = await f.deliver('w1');
    expect(await f.claim('w1', [{ entryId: entry, id, key: 'k', gen }])).toEqual(['run']);
    expect(await f.cancel('k')).toBe('cancelled');
    expect(await f.redis.pttl(f.keys.keyState('k'))).toBe(-1); // the running run's settle owns the TTL
    // w1 dies; a sweeper reclaims the message and its head check finds it stale.
    const { claimed } = await f.reclaim('w2', [[entry, 'w1']]);
    expect(claimed.map(([claimedId]) => claimedId)).toEqual([entry]);
    expect(await f.claim('w2', [{ entryId: entry, id, key: 'k', gen }])).toEqual(['stale']);
    const state = await f.keyState('k');
    expect(state).toMatchObject({ state: 'cancelled' });
    expect(state.rmid).toBeUndefined();
    const ttl = await f.redis.pttl(f.keys.keyState('k'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(LEASE_MS);
  });
});

import { ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/redis';
import { reusedEntryIds } from '../fixtures/reused-entry-ids';

/** claim.lua's defer delay here: a deferred run is made due at once (score 0) instead of waited for. */
const DEFER_MS = 60_000;

/**
 * Attack on claim.lua and the settles of a keyed run whose purged entry id a newer run of the
 * same key took. Key k's run R1 runs on live worker 'a' (its key state's rmid names its entry);
 * an operator's DEL of the stream (the next read makes the group again) and a replace() in the
 * purged entry's millisecond write R2 at that very id (a stream made anew numbers its entries
 * from Redis's clock alone; here the stream's last id stands for the clock, as in
 * purged-entry-id-reuse.spec.ts). claim.lua took `rmid == entry id` for a re-claim of the same
 * run and started R2 beside R1's handler: the key ran twice at once. Held back instead, R2 must
 * still run once R1 settles, whenever 'a' settles it, and 'a''s settle must leave R2's entry.
 */
describe("attack: a running run whose purged entry id its key's newer run took", () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);
  const { setClock, purge, taskAt } = reusedEntryIds(() => f);

  /** R1 running on 'a', the stream purged, R2 replace()d at R1's entry id: both runs. */
  async function replacedAtRunningId() {
    await f.alive('a');
    await f.alive('b');
    await setClock();
    const [r1, gen1] = await f.enqueue({ key: 'k' });
    const [[entryId]] = await f.deliver('a');
    expect(await f.claim('a', [{ entryId, key: 'k', gen: gen1 }])).toEqual(['run']);
    await purge();
    const [r2, gen2] = await f.enqueue({ key: 'k', mode: 'replace' });
    expect(await f.keyState('k')).toMatchObject({ rmid: entryId, rown: 'a', mid: entryId });
    expect(await taskAt(entryId)).toBe(r2);
    return { entryId, r1: { id: r1, gen: gen1 }, r2: { id: r2, gen: gen2 } };
  }

  /** Makes the deferred run due, promotes it, delivers it to 'b' and claims it: the verdicts. */
  async function readAndClaim(gen: number) {
    for (const member of await f.redis.zrange(f.keys.delayed, 0, -1)) await f.redis.zadd(f.keys.delayed, 0, member);
    await f.promote();
    const runs = (await f.deliver('b')).map(([entryId]) => ({ entryId, key: 'k', gen }));
    return f.claim('b', runs, DEFER_MS);
  }

  it("the newer run is held back while the running one's owner lives, and runs once it settled", async () => {
    const { entryId, r1, r2 } = await replacedAtRunningId();
    await f.deliver('b');
    expect(await f.claim('b', [{ entryId, key: 'k', gen: r2.gen }], DEFER_MS)).toEqual(['deferred']);
    expect(await f.keyState('k')).toMatchObject({ rmid: entryId, rown: 'a' });
    // Judged by its owner's lease now, as any run stranded by a purge is.
    expect(await readAndClaim(r2.gen)).toEqual(['deferred']);
    expect(await f.complete('a', [{ entryId, id: r1.id, gen: r1.gen, key: 'k' }])).toEqual(['superseded']);
    expect(await readAndClaim(r2.gen)).toEqual(['run']);
    expect((await f.keyState('k')).rown).toBe('b');
  });

  it("the newer run runs once the running one's owner is presumed dead", async () => {
    const { entryId, r2 } = await replacedAtRunningId();
    await f.deliver('b');
    expect(await f.claim('b', [{ entryId, key: 'k', gen: r2.gen }], DEFER_MS)).toEqual(['deferred']);
    await f.redis.del(f.keys.alive('a'));
    expect(await readAndClaim(r2.gen)).toEqual(['run']);
  });

  it("the owner's settle while another worker holds the newer run's delivery settles its run", async () => {
    const { entryId, r1, r2 } = await replacedAtRunningId();
    await f.deliver('b');
    // Its own delivery went with the purge: the one pending at its id is R2's, not a takeover.
    expect(await f.complete('a', [{ entryId, id: r1.id, gen: r1.gen, key: 'k' }])).toEqual(['superseded']);
    expect(await f.pendingOwner(entryId)).toBe('b');
    expect(await f.claim('b', [{ entryId, key: 'k', gen: r2.gen }], DEFER_MS)).toEqual(['run']);
  });

  it("the owner's failed settle while another worker holds the newer run's delivery settles its run", async () => {
    const { entryId, r1, r2 } = await replacedAtRunningId();
    await f.deliver('b');
    expect(await f.fail('a', { entryId, id: r1.id, gen: r1.gen, key: 'k', retryDelayMs: 0 })).toBe('superseded');
    expect(await f.pendingOwner(entryId)).toBe('b');
    expect(await f.claim('b', [{ entryId, key: 'k', gen: r2.gen }], DEFER_MS)).toEqual(['run']);
  });

  it("the owner's settle before any read leaves the newer run's entry", async () => {
    const { entryId, r1, r2 } = await replacedAtRunningId();
    expect(await f.complete('a', [{ entryId, id: r1.id, gen: r1.gen, key: 'k' }])).toEqual(['superseded']);
    expect(await taskAt(entryId)).toBe(r2.id);
    await f.deliver('b');
    expect(await f.claim('b', [{ entryId, key: 'k', gen: r2.gen }], DEFER_MS)).toEqual(['run']);
  });

  it("the owner's failed settle before any read leaves the newer run's entry", async () => {
    const { entryId, r1, r2 } = await replacedAtRunningId();
    expect(await f.fail('a', { entryId, id: r1.id, gen: r1.gen, key: 'k', retryDelayMs: 0 })).toBe('superseded');
    expect(await taskAt(entryId)).toBe(r2.id);
  });

  it("the owner's settle leaves an unrelated task at its id", async () => {
    await f.alive('a');
    await setClock();
    const [r1, gen1] = await f.enqueue({ key: 'k' });
    const [[entryId]] = await f.deliver('a');
    expect(await f.claim('a', [{ entryId, key: 'k', gen: gen1 }])).toEqual(['run']);
    await purge();
    const [other] = await f.enqueue();
    expect(await taskAt(entryId)).toBe(other);
    expect(await f.complete('a', [{ entryId, id: r1, gen: gen1, key: 'k' }])).toEqual(['completed']);
    expect(await taskAt(entryId)).toBe(other);
    // The key's next run is no longer held behind it.
    expect((await f.keyState('k')).rmid).toBeUndefined();
  });

  it('a re-claim of the running run itself (its key state names no queued run there) still runs', async () => {
    await f.alive('a');
    const [, gen] = await f.enqueue({ key: 'k' });
    const [[entryId]] = await f.deliver('a');
    expect(await f.claim('a', [{ entryId, key: 'k', gen }])).toEqual(['run']);
    expect(await f.claim('a', [{ entryId, key: 'k', gen }])).toEqual(['run']);
  });
});

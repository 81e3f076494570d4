import { endStrandedCancels } from '../../lib/consumer/stranded-cancels';
import { closeAll } from '../utils/helpers';
import { receivedSoFar } from '../utils/pubsub';
import { GROUP, ScriptFixture } from './script-fixture';

const KEY = 'k';
const TTL_MS = 60_000;

/**
 * A keyed run running on w1, replaced: the replacement is never claimed (each worker it is
 * delivered to dies before its claim) and the sweep dead-letters it as poison (reclaim.lua, then
 * dead-letter.lua). The key is then 'failed' while the replaced run is still recorded running.
 */
describe('scripts: a replacement dead-lettered as poison while the run it replaced still runs', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const sweep = () => endStrandedCancels(f.redis, f.keys, { group: GROUP, stateTtlMs: TTL_MS });

  /** R1 claimed by w1 (alive), replaced by R2, R2 delivered to w2 (dead) and dead-lettered as poison by w3. */
  async function replacementPoisoned() {
    await f.alive('w1');
    const [id1, gen1] = await f.enqueue({ key: KEY });
    const [[entryId1]] = await f.deliver('w1');
    expect(await f.claim('w1', [{ entryId: entryId1, key: KEY, gen: gen1 }])).toEqual(['run']);
    const [id2] = await f.enqueue({ key: KEY, mode: 'replace' });
    const [[entryId2]] = await f.deliver('w2');
    const { poison } = await f.reclaim('w3', [[entryId2, 'w2']], 1);
    expect(poison.map((p) => p[0])).toEqual([entryId2]);
    expect(await f.deadLetter('w3', entryId2, 'poison', { id: id2, key: KEY })).toBe('dead-lettered');
    const state = await f.keyState(KEY);
    expect(state).toMatchObject({ state: 'failed', id: id2, rmid: entryId1, rown: 'w1' });
    // The replaced run still runs: no TTL while it may settle.
    expect(await f.redis.pttl(f.keys.keyState(KEY))).toBe(-1);
    return { id1, gen1, entryId1, id2 };
  }

  async function expectExpiring(id2: string) {
    const state = await f.keyState(KEY);
    expect(state).toMatchObject({ state: 'failed', id: id2 });
    for (const field of ['rmid', 'rown', 'fence', 'rliv', 'rtid']) expect(state).not.toHaveProperty(field);
    expect(await f.redis.pttl(f.keys.keyState(KEY))).toBeGreaterThan(TTL_MS - 10_000);
  }

  it("the replaced run's entry deleted after its worker died: the sweep ends it, the state expires", async () => {
    const { id1, entryId1, id2 } = await replacementPoisoned();
    expect(await f.redis.smembers(f.keys.strandedCancels)).toEqual([KEY]);
    // Kept while its delivery stands and its owner lives.
    expect(await sweep()).toBe(0);
    expect(await f.keyState(KEY)).toHaveProperty('rmid', entryId1);
    await f.redis.del(f.keys.alive('w1'));
    await f.redis.xdel(f.keys.stream, entryId1);
    expect(await f.reclaim('w3', [[entryId1, 'w1']])).toMatchObject({ claimed: [], dropped: 1 });
    const told: string[] = [];
    const done: string[] = [];
    const sub = f.redis.duplicate();
    try {
      await sub.subscribe(f.keys.controlChannel, f.keys.doneChannel);
      sub.on('message', (c: string, m: string) => (c === f.keys.doneChannel ? done : told).push(m));
      expect(await sweep()).toBe(1);
      await expectExpiring(id2);
      expect(await f.redis.exists(f.keys.strandedCancels)).toBe(0);
      // Its worker (should it be alive after all) hears its run superseded, as the replace told it.
      expect(await receivedSoFar(f.redis, f.keys.controlChannel, told)).toEqual([
        expect.stringMatching(/^superseded:\d+:k$/),
      ]);
      // Its waiters hear it superseded too, as a result() asked later reads it (they heard nothing).
      expect(await receivedSoFar(f.redis, f.keys.doneChannel, done)).toEqual([`s:${id1}`]);
    } finally {
      sub.disconnect();
    }
  });

  it('the replaced run reclaimed and claimed by another worker: stale, the key released and expiring', async () => {
    const { id1, gen1, entryId1, id2 } = await replacementPoisoned();
    await f.redis.del(f.keys.alive('w1'));
    await f.alive('w4');
    const { claimed } = await f.reclaim('w4', [[entryId1, 'w1']]);
    expect(claimed).toHaveLength(1);
    expect(await f.claim('w4', [{ entryId: entryId1, id: id1, key: KEY, gen: gen1 }])).toEqual(['stale']);
    await expectExpiring(id2);
    expect(await sweep()).toBe(0);
    expect(await f.redis.exists(f.keys.strandedCancels)).toBe(0);
  });

  it("the replaced run's own settle: the key released and expiring, the set left by the next sweep", async () => {
    const { id1, gen1, entryId1, id2 } = await replacementPoisoned();
    expect(await f.complete('w1', [{ entryId: entryId1, id: id1, gen: gen1, key: KEY }])).toEqual(['superseded']);
    await expectExpiring(id2);
    expect(await sweep()).toBe(0);
    expect(await f.redis.exists(f.keys.strandedCancels)).toBe(0);
  });

  it('a stranded cancels set of another type refuses the dead letter with nothing written', async () => {
    await f.alive('w1');
    const [, gen1] = await f.enqueue({ key: KEY });
    const [[entryId1]] = await f.deliver('w1');
    expect(await f.claim('w1', [{ entryId: entryId1, key: KEY, gen: gen1 }])).toEqual(['run']);
    const [id2] = await f.enqueue({ key: KEY, mode: 'replace' });
    const [[entryId2]] = await f.deliver('w3');
    const before = await f.keyState(KEY);
    await f.redis.set(f.keys.strandedCancels, 'x');
    await expect(f.deadLetter('w3', entryId2, 'poison', { id: id2, key: KEY })).rejects.toThrow(/WRONGTYPE/);
    expect(await f.keyState(KEY)).toEqual(before);
    expect(await f.pendingOwner(entryId2)).toBe('w3');
    expect(await f.redis.xlen(f.keys.deadLetter)).toBe(0);
  });
});

import { readStoredSchedules } from '../../lib/consumer/stored-schedules';
import { closeAll } from '../utils/helpers';
import { ScriptFixture } from '../scripts/script-fixture';

/**
 * Attack on the type of a keyed run's key state: anyone who can write to Redis can make it a
 * string (`SET <key state> x`). complete.lua's and claim.lua's HMGET on it raised WRONGTYPE, which
 * failed the whole batch: every unrelated run of it stayed unsettled (or unstarted), retried for
 * ever; readStoredSchedules' pipeline threw it for the whole batch of a runtime-schedule run.
 */
describe('attack: a key state that is not a hash', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  async function twoRuns() {
    const [hostileId, gen] = await f.enqueue({ key: 'k' });
    const [plainId] = await f.enqueue();
    const [[hostileEntry], [plainEntry]] = await f.deliver('w');
    await f.redis.del(f.keys.keyState('k'));
    await f.redis.set(f.keys.keyState('k'), 'x');
    return {
      hostile: { entryId: hostileEntry, id: hostileId, gen, key: 'k' },
      plain: { entryId: plainEntry, id: plainId },
    };
  }

  it('its settle is stale and the rest of the batch settles', async () => {
    const { hostile, plain } = await twoRuns();
    expect(await f.complete('w', [hostile, plain])).toEqual(['superseded', 'completed']);
    expect(await f.redis.get(f.keys.result(plain.id))).toBe('{"ok":true,"value":1}');
    expect(await f.redis.xpending(f.keys.stream, 'workers')).toEqual([0, null, null, null]);
    expect(await f.redis.get(f.keys.keyState('k'))).toBe('x'); // nothing written to it
  });

  it('its claim is stale and the rest of the batch starts', async () => {
    const [hostileId, hostileGen] = await f.enqueue({ key: 'k' });
    const [otherId, otherGen] = await f.enqueue({ key: 'other' });
    const [[hostileEntry], [otherEntry]] = await f.deliver('w');
    await f.redis.del(f.keys.keyState('k'));
    await f.redis.set(f.keys.keyState('k'), 'x');
    const hostile = { entryId: hostileEntry, id: hostileId, gen: hostileGen, key: 'k' };
    const other = { entryId: otherEntry, id: otherId, gen: otherGen, key: 'other' };
    expect(await f.claim('w', [hostile, other])).toEqual(['stale', 'run']);
    expect(await f.pendingOwner(hostileEntry)).toBeUndefined();
    expect(await f.redis.get(f.keys.keyState('k'))).toBe('x');
  });

  it('its failure is superseded (no retry) and its state left as it is', async () => {
    const { hostile } = await twoRuns();
    expect(await f.fail('w', { ...hostile, retryDelayMs: 1000 })).toBe('superseded');
    expect(await f.pendingOwner(hostile.entryId)).toBeUndefined();
    expect(await f.redis.zcard(f.keys.delayed)).toBe(0);
    expect(await f.redis.get(f.keys.keyState('k'))).toBe('x');
  });

  it('its dead letter is written, its state left as it is', async () => {
    const { hostile } = await twoRuns();
    expect(await f.deadLetter('w', hostile.entryId, 'poison', { id: hostile.id, key: 'k' })).toBe('dead-lettered');
    expect(await f.redis.xlen(f.keys.deadLetter)).toBe(1);
    expect(await f.pendingOwner(hostile.entryId)).toBeUndefined();
    expect(await f.redis.get(f.keys.keyState('k'))).toBe('x');
  });

  it("readStoredSchedules reads it as no state and the batch's other schedules as stored", async () => {
    await f.redis.set(f.keys.keyState('bad'), 'x');
    await f.redis.hset(f.keys.keyState('good'), 'rt', '1', 'sk', 'every', 'every', '60000');
    const runs = ['bad', 'good'].map((key) => ({ key, name: 'job', dueAt: 1 }));
    const stored = await readStoredSchedules(f.redis, f.keys, runs);
    expect([...stored.keys()]).toEqual(['good']);
  });
});

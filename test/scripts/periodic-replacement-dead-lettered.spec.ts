import { endStrandedCancels } from '../../lib/consumer/stranded-cancels';
import { closeAll } from '../utils/helpers';
import { GROUP, ScriptFixture } from './script-fixture';

const KEY = 'periodic:job';
const TTL_MS = 60_000;

/**
 * A periodic run A of a chain running on w1; a newer run of the chain B (the chain rescheduled
 * while A ran) dead-lettered unrun as poison: dead-letter.lua schedules B's successor S, so the
 * state goes back to 'delayed' with A's running record, and records the key. The sweep drops the
 * key (nothing 'cancelled' or 'failed' to judge); then w1 dies and A's entry is deleted: S's
 * claim must still take the key over (nothing left with A's running record for good).
 */
describe('scripts: a periodic run dead-lettered unrun while an older run of its chain still runs', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it("its successor's claim takes the key over once the older run is stranded", async () => {
    await f.alive('w1');
    const [, genA] = await f.enqueue({ key: KEY, periodic: true });
    await f.redis.hset(f.keys.keyState(KEY), 'sk', 'every', 'every', '60000');
    const [[entryA]] = await f.deliver('w1');
    expect(await f.claim('w1', [{ entryId: entryA, key: KEY, gen: genA }])).toEqual(['run']);
    const [idB] = await f.enqueue({ key: KEY, mode: 'replace', periodic: true });
    const [[entryB]] = await f.deliver('w2');
    const { poison } = await f.reclaim('w3', [[entryB, 'w2']], 1);
    expect(poison.map((p) => p[0])).toEqual([entryB]);
    expect(await f.deadLetter('w3', entryB, 'poison', { id: idB, key: KEY })).toBe('dead-lettered');
    const state = await f.keyState(KEY);
    expect(state).toMatchObject({ state: 'delayed', rmid: entryA, rown: 'w1' });
    expect(await endStrandedCancels(f.redis, f.keys, { group: GROUP, stateTtlMs: TTL_MS })).toBe(0);

    await f.redis.del(f.keys.alive('w1'));
    await f.redis.xdel(f.keys.stream, entryA);
    expect(await f.reclaim('w3', [[entryA, 'w1']])).toMatchObject({ claimed: [], dropped: 1 });
    // S due now.
    const [member] = await f.redis.zrange(f.keys.delayed, 0, -1);
    await f.redis.zadd(f.keys.delayed, 'XX', 0, member);
    await f.promote();
    const [[entryS]] = await f.deliver('w4');
    await f.alive('w4');
    const genS = Number((await f.keyState(KEY)).gen);
    expect(await f.claim('w4', [{ entryId: entryS, key: KEY, gen: genS }])).toEqual(['run']);
    expect(await f.keyState(KEY)).toMatchObject({ state: 'running', rmid: entryS, rown: 'w4' });
  });
});

import { closeAll } from '../utils/redis';
import { GROUP, ScriptFixture } from '../scripts/script-fixture';

/**
 * Attack on the periodic chains and the dead-letter path. The README: "A run that fails for good
 * is dead-lettered and still schedules the next slot", and "every way a keyed run ends makes the
 * same key transition". fail.lua schedules the successor; dead-letter.lua (a poison run past
 * maxDeliveries, e.g. a handler that stalls or kills its worker every time) ends the periodic
 * key as `failed` with no successor: the chain stops until a worker boots again.
 */
describe('attack: a periodic run dead-lettered as poison keeps its chain', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it('a poison run of a periodic key leaves a successor in the delayed set', async () => {
    const key = 'periodic:job';
    const [id, gen] = await f.enqueue({ key, periodic: true }); // a run of the chain: it carries its slot
    // The chain's stored schedule, as schedule-periodic.lua writes it.
    await f.redis.hset(f.keys.keyState(key), 'sk', 'every', 'every', '60000');
    const [[entry]] = await f.deliver('w1');
    expect(await f.claim('w1', [{ entryId: entry, id, key, gen }])).toEqual(['run']);
    await f.redis.xclaim(f.keys.stream, GROUP, 'w2', 0, entry); // w1 died mid-run; so did w2
    const { poison } = await f.reclaim('sweeper', [[entry, 'w2']], 2);
    expect(poison.length).toBe(1);
    expect(await f.deadLetter('sweeper', entry, 'poison', { id, key })).toBe('dead-lettered');

    // The next slot is scheduled, as a run that failed for good through fail.lua schedules it.
    expect((await f.keyState(key)).state).toBe('delayed');
    expect(await f.redis.zcard(f.keys.delayed)).toBe(1);
  });
});

import { endStrandedCancels } from '../../lib/consumer/stranded-cancels';
import { closeAll } from '../utils/helpers';
import { receivedSoFar } from '../utils/pubsub';
import { GROUP, ScriptFixture } from './script-fixture';

const KEY = 'k';
const TTL_MS = 60_000;

/**
 * A keyed run A running on w1 is cancelled (its waiters are to hear 'x:A' at its settle), the key
 * is enqueued again (B) and B is dead-lettered unrun (poison) while A still runs: the key is
 * 'failed', its xid still A. Then w1 dies and A's entry is deleted: no settle comes, and the
 * sweep (end-stranded-cancel.lua) ends A. A's waiters must hear 'x:A' then, as they would from
 * its settle or from the sweep had B never come: a result() waiting for A without a timeout
 * waited for good.
 */
describe("scripts: a cancelled run stranded after its key's next run was dead-lettered", () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it("the sweep ending it tells its waiters 'x:<id>'", async () => {
    await f.alive('w1');
    const [idA, genA] = await f.enqueue({ key: KEY });
    const [[entryA]] = await f.deliver('w1');
    expect(await f.claim('w1', [{ entryId: entryA, key: KEY, gen: genA }])).toEqual(['run']);
    expect(await f.cancel(KEY, TTL_MS)).toBe('cancelled');
    const [idB] = await f.enqueue({ key: KEY });
    const [[entryB]] = await f.deliver('w2');
    const { poison } = await f.reclaim('w3', [[entryB, 'w2']], 1);
    expect(poison.map((p) => p[0])).toEqual([entryB]);
    expect(await f.deadLetter('w3', entryB, 'poison', { id: idB, key: KEY })).toBe('dead-lettered');
    expect(await f.keyState(KEY)).toMatchObject({ state: 'failed', id: idB, xid: idA, rmid: entryA, rown: 'w1' });
    expect(await f.redis.smembers(f.keys.strandedCancels)).toEqual([KEY]);

    await f.redis.del(f.keys.alive('w1'));
    await f.redis.xdel(f.keys.stream, entryA);
    expect(await f.reclaim('w3', [[entryA, 'w1']])).toMatchObject({ claimed: [], dropped: 1 });
    const told: string[] = [];
    const sub = f.redis.duplicate();
    try {
      await sub.subscribe(f.keys.doneChannel);
      sub.on('message', (_c, m: string) => told.push(m));
      expect(await endStrandedCancels(f.redis, f.keys, { group: GROUP, stateTtlMs: TTL_MS })).toBe(1);
      expect(await receivedSoFar(f.redis, f.keys.doneChannel, told)).toEqual([`x:${idA}`]);
    } finally {
      sub.disconnect();
    }
    expect(await f.keyState(KEY)).not.toHaveProperty('rmid');
  });
});

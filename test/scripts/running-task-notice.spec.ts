import { readSettled } from '../../lib/client/settled-state';
import { endStrandedCancels } from '../../lib/consumer/stranded-cancels';
import { closeAll } from '../utils/helpers';
import { receivedSoFar } from '../utils/pubsub';
import { GROUP, ScriptFixture } from './script-fixture';

const KEY = 'k';

/**
 * The scripts that end a key's stranded run (its worker dead, its delivery dropped) tell that
 * run's waiters by its task id (field rtid, claim.lua): a notice must say what a result() asked
 * later reads for that task. Two states where the field does not name a superseded run: a
 * legacy run (generation 0, never stale) taking over the key's current run, which the state
 * still names (it reads pending), and a field left by a worker of an earlier version (its settle
 * drops the running record without rtid, its claim writes one without it) naming a task that
 * completed since. So the field names the delivery too ('<rmid> <task id>'), and one naming
 * another (or written by hand in another form) tells no one.
 */
describe('scripts: the notice to a stranded run taken over names only a task that reads superseded', () => {
  let f: ScriptFixture;
  let done: string[];
  let sub: ReturnType<ScriptFixture['redis']['duplicate']>;
  beforeEach(async () => {
    f = await new ScriptFixture().setUp();
    done = [];
    sub = f.redis.duplicate();
    await sub.subscribe(f.keys.doneChannel);
    sub.on('message', (_c, m: string) => done.push(m));
  });
  afterEach(async () => {
    sub.disconnect();
    await f.tearDown();
  });
  afterAll(closeAll);

  const settled = (id: string) => readSettled(f.redis, f.keys, { id, key: KEY });

  /** `entryId`, held by `owner`, stranded: its owner dead, its entry deleted, its delivery dropped. */
  async function strand(entryId: string, owner: string) {
    await f.redis.del(f.keys.alive(owner));
    await f.redis.xdel(f.keys.stream, entryId);
    expect(await f.reclaim('sweeper', [[entryId, owner]])).toMatchObject({ claimed: [], dropped: 1 });
  }

  it("a legacy run taking over the key's current run tells nothing: that task still reads pending", async () => {
    await f.alive('w1');
    const [current, gen] = await f.enqueue({ key: KEY });
    const [[entry]] = await f.deliver('w1');
    expect(await f.claim('w1', [{ entryId: entry, key: KEY, gen }])).toEqual(['run']);
    // A message from before generations (no field g): never stale, it runs once the key is free.
    await f.redis.xadd(f.keys.stream, '*', 'id', 'legacy', 'n', 'job', 'p', '{}', 'a', '1', 'k', KEY);
    const [[legacyEntry]] = await f.deliver('w2');
    await strand(entry, 'w1');
    await f.alive('w2');
    expect(await f.claim('w2', [{ entryId: legacyEntry, id: 'legacy', key: KEY, gen: 0 }])).toEqual(['run']);
    expect(await f.keyState(KEY)).toMatchObject({ state: 'running', id: current });
    expect(await settled(current)).toEqual({ state: 'pending', byKey: true }); // its key state says running
    expect(await receivedSoFar(f.redis, f.keys.doneChannel, done)).toEqual([]);
  });

  /**
   * X claimed here, then settled by a worker of an earlier version (its running record dropped
   * without rtid), then Y claimed by such a worker (rmid, rown, fence, rliv: no rtid) and stranded.
   */
  async function leftByEarlierVersion(beforeStrand: () => Promise<unknown> = async () => undefined) {
    await f.alive('w1');
    const [x, genX] = await f.enqueue({ key: KEY });
    const [[entryX]] = await f.deliver('w1');
    expect(await f.claim('w1', [{ entryId: entryX, key: KEY, gen: genX }])).toEqual(['run']);
    expect(await f.complete('w1', [{ entryId: entryX, id: x, gen: genX, key: KEY }])).toEqual(['completed']);
    await f.redis.hset(f.keys.keyState(KEY), 'rtid', x); // what its release left
    const [y] = await f.enqueue({ key: KEY });
    const [[entryY]] = await f.deliver('w2');
    await f.alive('w2');
    await f.redis.hset(
      f.keys.keyState(KEY),
      'state',
      'running',
      'rmid',
      entryY,
      'rown',
      'w2',
      'fence',
      99,
      'rliv',
      '1',
    );
    await f.redis.hdel(f.keys.keyState(KEY), 'mid');
    await beforeStrand();
    await strand(entryY, 'w2');
    expect(await settled(x)).toMatchObject({ state: 'completed' });
    return { x, y };
  }

  it("an earlier version's leftover: the claim taking its run over tells nothing of the completed task", async () => {
    const { x } = await leftByEarlierVersion();
    const [z, genZ] = await f.enqueue({ key: KEY, mode: 'replace' });
    const [[entryZ]] = await f.deliver('w3');
    await f.alive('w3');
    expect(await f.claim('w3', [{ entryId: entryZ, id: z, key: KEY, gen: genZ }])).toEqual(['run']);
    expect(await settled(x)).toMatchObject({ state: 'completed' });
    // X's own settle told it completed; nothing more.
    expect(await receivedSoFar(f.redis, f.keys.doneChannel, done)).toEqual([`c:${x}`]);
  });

  it("an earlier version's leftover: cancel() ending its run tells nothing of the completed task", async () => {
    const { x, y } = await leftByEarlierVersion();
    expect(await f.cancel(KEY)).toBe('cancelled');
    expect(await f.keyState(KEY)).not.toHaveProperty('rmid');
    expect(await settled(x)).toMatchObject({ state: 'completed' });
    expect(await receivedSoFar(f.redis, f.keys.doneChannel, done)).toEqual([`c:${x}`, `x:${y}`]);
  });

  it("an earlier version's leftover: the sweep ending its cancelled run tells nothing of the completed task", async () => {
    // Cancelled while its owner lived: left to its settle, which never comes (its owner dies).
    const { x, y } = await leftByEarlierVersion(async () => expect(await f.cancel(KEY)).toBe('cancelled'));
    expect(await endStrandedCancels(f.redis, f.keys, { group: GROUP, stateTtlMs: 60_000 })).toBe(1);
    expect(await f.keyState(KEY)).not.toHaveProperty('rmid');
    expect(await settled(x)).toMatchObject({ state: 'completed' });
    expect(await receivedSoFar(f.redis, f.keys.doneChannel, done)).toEqual([`c:${x}`, `x:${y}`]);
  });

  it.each([
    ['not of the form', 'garbage'],
    ['naming no task', '<rmid> '],
    ['naming another delivery', '0-1 someone'],
    ['huge, naming another delivery', `0-1 ${'z'.repeat(100_000)}`],
  ])('a field rtid written by hand, %s: the takeover runs and tells nothing', async (_what, value) => {
    await f.alive('w1');
    const [a, genA] = await f.enqueue({ key: KEY });
    const [[entryA]] = await f.deliver('w1');
    expect(await f.claim('w1', [{ entryId: entryA, key: KEY, gen: genA }])).toEqual(['run']);
    await f.redis.hset(f.keys.keyState(KEY), 'rtid', value.replace('<rmid>', entryA));
    const [b, genB] = await f.enqueue({ key: KEY, mode: 'replace' });
    const [[entryB]] = await f.deliver('w2');
    await strand(entryA, 'w1');
    await f.alive('w2');
    expect(await f.claim('w2', [{ entryId: entryB, id: b, key: KEY, gen: genB }])).toEqual(['run']);
    expect(await f.keyState(KEY)).toMatchObject({ rmid: entryB, rtid: `${entryB} ${b}` });
    expect(await settled(a)).toEqual({ state: 'superseded' });
    expect(await receivedSoFar(f.redis, f.keys.doneChannel, done)).toEqual([]);
  });
});

import { closeAll } from '../utils/redis';
import { ScriptFixture } from '../scripts/script-fixture';

/**
 * docket PR #331, replayed on the scripts with the order fixed by hand: periodic run A (every
 * 2 s) is running; replace() re-times the key to 500 ms and queues run B; B finishes first and
 * schedules its successor; then A finishes. Exactly one successor must remain, timed by B, and
 * A must write nothing: not its successor, not a terminal state over B's successor's state.
 */
describe.each([
  ['a state TTL > 0', 60_000],
  ['a state TTL of 0', 0],
])('docket race with %s', (_label, stateTtl) => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const KEY = 'periodic:tick';
  const enqueue = (mode: 'add' | 'replace', everyMs: number) =>
    f.enqueue({ id: `run-${mode}-${everyMs}`, name: 'tick', key: KEY, mode, everyMs, periodic: true });
  const complete = (consumer: string, entryId: string, id: string, gen: number) =>
    f.complete(
      consumer,
      [
        {
          entryId,
          id,
          gen,
          key: KEY,
          result: '{"ok":true}',
          successor: JSON.stringify({ id: `next-of-${id}`, n: 'tick', p: 'null', k: KEY, at: Date.now() + 2_000 }),
        },
      ],
      stateTtl,
    );

  it('leaves exactly one successor, timed by B, and A writes nothing', async () => {
    const [idA, genA] = await enqueue('add', 2_000);
    const [[entryA]] = await f.deliver('worker-a');
    expect(await f.claim('worker-a', [{ entryId: entryA, key: KEY, gen: genA }])).toEqual(['run']);

    const [idB, genB] = await enqueue('replace', 500);
    const [[entryB]] = await f.deliver('worker-b');
    const dueB = Number((await f.keyState(KEY)).dueAt);

    // B finishes first (its claim would defer behind A; the settle alone is what races).
    expect(await complete('worker-b', entryB, idB, genB)).toEqual(['completed']);
    const afterB = await f.keyState(KEY);
    const successors = await f.redis.zrange(f.keys.delayed, 0, -1, 'WITHSCORES');
    expect(successors).toHaveLength(2);
    expect(Number(successors[1])).toBe(dueB + 500);
    expect(JSON.parse(successors[0])).toMatchObject({
      id: `next-of-${idB}`,
      g: String(genB + 1),
      d: String(dueB + 500),
    });

    // Then A finishes: stale at the tail, it acks and writes nothing.
    expect(await complete('worker-a', entryA, idA, genA)).toEqual(['superseded']);
    expect(await f.redis.zrange(f.keys.delayed, 0, -1, 'WITHSCORES')).toEqual(successors);
    const afterA = await f.keyState(KEY);
    expect(afterB.rmid).toBe(entryA); // A still held the key while B settled
    expect(afterA).toEqual(withoutRun(afterB));
    expect(afterA.gen).toBe(String(genB + 1));
    expect(afterA.state).toBe('delayed');
    expect(await f.redis.exists(f.keys.result(idA))).toBe(0);
    expect(await f.redis.pttl(f.keys.keyState(KEY))).toBe(-1); // the successor's state never expires under it
    expect(await f.pendingOwner(entryA)).toBeUndefined();
  });
});

/** The key state without the running record A still held (its delivery, owner, fence and lease). */
function withoutRun(state: Record<string, string>): Record<string, string> {
  const { rmid: _rmid, rown: _rown, fence: _fence, rliv: _rliv, rtid: _rtid, ...rest } = state;
  return rest;
}

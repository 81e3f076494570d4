import { ScriptCall } from '../../lib/redis/scripts';
import { promoteScript, readDueScript } from '../../lib/scripts/promote.script';
import { closeAll } from '../utils/redis';
import { ScriptFixture } from './script-fixture';

/**
 * promote is two calls: read-due.lua reads the due members, then promote.lua moves them with the
 * key states they touch declared in KEYS. Between the two, anything may change: each member is
 * re-checked inside promote.lua, so one changed in between is skipped, never lost or moved twice.
 */
describe('promote: a member that changed between the read and the move', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const readDue = () => readDueScript(f.keys, { limit: 100 }).run(f.redis);
  const move = (members: string[]) =>
    promoteScript(f.keys, { members, limit: 100, deadLetterMaxLen: 100, stateTtlMs: 60_000 }).run(f.redis);
  /** Delayed members made due now (as time passing would), without waiting. */
  const makeDue = async () => {
    for (const m of await f.redis.zrange(f.keys.delayed, 0, -1)) await f.redis.zadd(f.keys.delayed, 0, m);
  };

  it('two promoters that read the same members move each once', async () => {
    for (let i = 0; i < 5; i++) await f.enqueue({ delayMs: 60_000 });
    await f.enqueue({ key: 'k', delayMs: 60_000 });
    await makeDue();
    const [first, second] = [await readDue(), await readDue()];
    expect(first.members).toHaveLength(6);
    expect(second.members).toEqual(first.members);

    const moved = [(await move(first.members)).moved, (await move(second.members)).moved];

    expect(moved).toEqual([6, 0]);
    expect(await f.redis.xlen(f.keys.stream)).toBe(6);
    expect((await f.keyState('k')).state).toBe('queued');
  });

  it('a member re-timed later since the read stays delayed', async () => {
    await f.enqueue({ delayMs: 60_000 });
    await makeDue();
    const { members } = await readDue();
    await f.redis.zadd(f.keys.delayed, Date.now() + 3_600_000, members[0]); // re-timed an hour on

    const { moved, nextDueInMs } = await move(members);

    expect(moved).toBe(0);
    expect(await f.redis.zcard(f.keys.delayed)).toBe(1);
    expect(nextDueInMs).toBeGreaterThan(3_000_000);
  });

  it('a keyed member replaced since the read is skipped; the replacement is moved, not lost', async () => {
    await f.enqueue({ key: 'k', delayMs: 60_000 });
    await makeDue();
    const { members: before } = await readDue();
    const [newId] = await f.enqueue({ key: 'k', mode: 'replace', delayMs: 60_000 }); // removes the old member
    await makeDue();

    expect((await move(before)).moved).toBe(0);
    expect(await f.redis.xlen(f.keys.stream)).toBe(0);
    const { members: after } = await readDue();
    expect((await move(after)).moved).toBe(1);
    const [[, fields]] = await f.redis.xrange(f.keys.stream, '-', '+');
    expect(fields[fields.indexOf('id') + 1]).toBe(newId);
    expect((await f.keyState('k')).state).toBe('queued');
  });

  it('a member pushed past the first `limit` due members by earlier ones moves at the next promotion', async () => {
    await f.enqueue({ delayMs: 60_000 });
    await makeDue();
    const { members } = await readDue();
    // Two members due earlier arrive in between; the move looks at the first two due members only.
    await f.redis.zadd(f.keys.delayed, -2, members[0].replace('"id":"', '"id":"early-a'));
    await f.redis.zadd(f.keys.delayed, -1, members[0].replace('"id":"', '"id":"early-b'));

    const first = await promoteScript(f.keys, { members, limit: 2, deadLetterMaxLen: 100, stateTtlMs: 60_000 }).run(
      f.redis,
    );

    expect([first.moved, first.nextDueInMs]).toEqual([0, 0]); // skipped, not lost: due at once
    expect((await f.promote()).moved).toBe(3);
    expect(await f.redis.xlen(f.keys.stream)).toBe(3);
  });

  it('reads nothing when nothing is due, and says when the first member is due', async () => {
    await f.enqueue({ delayMs: 5_000 });
    const due = await readDue();
    expect(due.members).toEqual([]);
    expect(due.nextDueInMs).toBeGreaterThan(4_000);
    expect(due.nextDueInMs).toBeLessThanOrEqual(5_000);
  });

  it('dead-letters a member whose key differs from the one the caller declared', async () => {
    const member = JSON.stringify({ id: 't', n: 'job', p: '1', a: '1', k: 'real', g: '1' });
    await f.redis.zadd(f.keys.delayed, 0, member);
    // A caller that read the member differently (no key) declares no key state for it.
    const lying = new ScriptCall(
      'promote',
      [f.keys.delayed, f.keys.stream, f.keys.deadLetter, f.keys.strandedCancels],
      [100, 100, 60_000, f.keys.doneChannel, member, '', ''],
      (reply) => ({ moved: (reply as number[])[0] }),
    );
    expect((await lying.run(f.redis)).moved).toBe(0);
    expect(await f.redis.xlen(f.keys.stream)).toBe(0);
    const [[, dead]] = await f.redis.xrange(f.keys.deadLetter, '-', '+');
    expect(dead).toContain('delayed member names another key');
  });
});

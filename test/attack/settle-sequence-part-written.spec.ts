import { failScript } from '../../lib/scripts/fail.script';
import { closeAll } from '../utils/redis';
import { GROUP, LEASE_MS, ScriptFixture } from '../scripts/script-fixture';
import { periodicRunRead, refusalOf, settleWrites as written } from '../fixtures/settle-writes';

/**
 * Attack on the settles of a periodic run refused midway at its successor's generation. The
 * successor's generation is drawn from the queue's sequence (INCR, includes/key-state.lua) after
 * the settle's other writes: complete.lua's result and the key's end, fail.lua's ack, dead letter
 * and the key's end, dead-letter.lua's dead letter and ack. Redis does not roll a script back, so
 * a sequence INCR refuses (anyone with Redis access can `SET <seq> abc`, or make it a hash)
 * failed the settle after them: a completion's retry found the run stale, a failure's found it
 * settled, and the chain ended without a successor. So does a draw past 2^53-1 (see
 * sequence-past-exact-range.spec.ts), refused at the draw. Now each reads the sequence before its first
 * write when it schedules a successor: one INCR would refuse refuses the settle, nothing written,
 * and the settle goes through once the sequence is a number again.
 */
describe.each([
  ['not a number', (f: ScriptFixture) => f.redis.set(f.keys.seq, 'abc'), /^ERR the sequence .* is not an integer/],
  ['at the largest integer', (f: ScriptFixture) => f.redis.set(f.keys.seq, '9223372036854775807'), /^ERR the sequence/],
  // Its draw would pass 2^53-1, which a script's number no longer holds exactly (Lua's doubles).
  [
    'at 2^53-1',
    (f: ScriptFixture) => f.redis.set(f.keys.seq, '9007199254740991'),
    /^ERR the sequence .* passed 2\^53-1/,
  ],
  [
    'a hash',
    (f: ScriptFixture) => f.redis.multi().del(f.keys.seq).hset(f.keys.seq, 'x', '1').exec(),
    /^WRONGTYPE the sequence .* holds a hash/,
  ],
])('attack: a periodic run settled, its sequence %s', (_, spoil, message) => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const key = 'periodic:job';
  /** A periodic run of `key` enqueued, its chain's schedule stored, read by consumer 'a'; then the sequence spoilt. */
  async function periodicRun() {
    const run = await periodicRunRead(f, key);
    const seq = await f.redis.get(f.keys.seq);
    await spoil(f);
    const restore = async () => {
      await f.redis.del(f.keys.seq);
      await f.redis.set(f.keys.seq, seq!);
    };
    return { ...run, restore };
  }

  /** `settle` refused with `message`, nothing written; then, the sequence back, it schedules the successor. */
  async function expectRefusedThenSettled(
    run: Awaited<ReturnType<typeof periodicRun>>,
    settle: () => Promise<unknown>,
  ) {
    const before = await written(f, run.id, key);
    const refusal = await refusalOf(settle());
    expect(await written(f, run.id, key)).toEqual(before);
    expect(refusal).toMatch(message);
    await run.restore();
    await settle();
    expect(await f.redis.zcard(f.keys.delayed)).toBe(1);
    expect((await f.keyState(key)).state).toBe('delayed');
  }

  it('complete.lua: refused, nothing written; its successor once the sequence is back', async () => {
    const run = await periodicRun();
    await expectRefusedThenSettled(run, () => f.complete('a', [run]));
  });

  it("fail.lua, the run's last failure: refused, no dead letter; its successor once the sequence is back", async () => {
    const run = await periodicRun();
    const fail = () =>
      failScript(f.keys, {
        group: GROUP,
        consumer: 'a',
        stateTtlMs: LEASE_MS,
        entryId: run.entryId,
        retryInMs: undefined,
        resultTtlMs: LEASE_MS,
        failure: '{"ok":false,"error":{"name":"Error","message":"x"}}',
        deadLetterReason: 'boom',
        deadLetterMaxLen: 100,
        successor: run.successor,
        task: { id: run.id, name: 'job', payload: '{}', attempt: 2, key, generation: run.gen, keepResult: false },
      }).run(f.redis);
    await expectRefusedThenSettled(run, fail);
  });

  it('dead-letter.lua of a poison run: refused, no dead letter; its successor once the sequence is back', async () => {
    const run = await periodicRun();
    await expectRefusedThenSettled(run, () =>
      f.deadLetter('a', run.entryId, 'poison', { id: run.id, key, timing: { e: 60_000 } }),
    );
  });
});

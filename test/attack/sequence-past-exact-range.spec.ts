import { TerminusModule } from '@nestjs/terminus';
import { StreamQueueHealthIndicator, StreamQueueHealthModule } from '../../lib/terminus';
import { redriveScript } from '../../lib/scripts/redrive.script';
import { useProbeApps } from '../fixtures/probe-apps';
import { periodicRunRead, refusalOf, settleWrites } from '../fixtures/settle-writes';
import { startApp } from '../fixtures/test-app';
import { closeAll, waitFor } from '../utils/redis';
import { GROUP, ScriptFixture } from '../scripts/script-fixture';

/** 2^53-1: the last number a script holds exactly (Lua numbers are doubles). */
const MAX = 9007199254740991;
const PASSED = /^ERR the sequence .* passed 2\^53-1/;

/**
 * Attack on the queue's sequence (generations and keyed runs' fencing numbers are drawn from it by
 * INCR), which anyone with Redis access can SET near 2^53. INCR's integer reaches the script as a
 * Lua number, a double, so past 2^53-1 consecutive draws rounded to one number: two replace()s of a
 * key told one generation (9007199254740992), two claims of a key's runs one fencing number, two
 * periodic successors of one completion batch one generation. Now every draw past 2^53-1 refuses:
 * a keyed enqueue, replace, cancel or schedule at its INCR, its first write ('ERR the sequence
 * <key> passed 2^53-1'); a settle or redrive that draws after other writes before its first write
 * (sequenceCheck, counting every draw of the call); a claim leaves the run unmarked (code 6,
 * 'no-fence': nothing written but the draw), and the worker gives it back and reports the
 * admission failing. A review finding; the spec failed.
 */
// The worker's side of the claim's code 6 (see below); first, as the scripts' afterAll closes every connection.
describe('attack: a worker whose keyed run gets no exact fence', () => {
  const env = useProbeApps();

  it('gives the run back and reports its admissions failing, naming the sequence; it runs once set back', async () => {
    const t = await startApp({ prefix: env.prefix, imports: [StreamQueueHealthModule, TerminusModule] });
    const indicator = t.app.get(StreamQueueHealthIndicator);
    await env.redis.set(t.keys.seq, String(MAX - 1));
    const handle = await t.client.enqueue('echo', 'keyed', { key: 'k' });
    expect(handle.generation).toBe(MAX);
    const down = await waitFor(
      async () => {
        const { queue } = await indicator.isHealthy('queue');
        return queue.status === 'down' ? queue : undefined;
      },
      { description: 'the check down', timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(down.message).toMatch(/failing for \d+ ms: the sequence .* passed 2\^53-1/);
    expect(t.probe.runs).toHaveLength(0);
    await env.redis.set(t.keys.seq, '1000');
    await expect(handle.result({ timeoutMs: 15_000 })).resolves.toBe('keyed');
  }, 40_000);
});

describe('attack: the sequence past 2^53-1', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const setSeq = (n: number | string) => f.redis.set(f.keys.seq, String(n));
  /** Two keyed runs enqueued and read by consumer 'w': their entries, keys, ids and generations. */
  async function twoKeyedRuns() {
    await f.enqueue({ key: 'a' });
    await f.enqueue({ key: 'b' });
    const read = await f.deliver('w');
    return read.map(([entryId, fields]) => ({ entryId, key: fields.k, id: fields.id, gen: Number(fields.g) }));
  }

  it('replace() whose generation would pass 2^53-1 is refused, nothing written', async () => {
    await setSeq(MAX - 1);
    const [, gen] = await f.enqueue({ key: 'k', delayMs: 60_000 });
    expect(gen).toBe(MAX);
    const state = await f.keyState('k');
    const delayed = await f.redis.zrange(f.keys.delayed, 0, -1);
    // The old code answered 9007199254740992 here, and again for the replace() after it.
    await expect(f.enqueue({ key: 'k', delayMs: 60_000, mode: 'replace' })).rejects.toThrow(PASSED);
    expect(await f.keyState('k')).toEqual(state);
    expect(await f.redis.zrange(f.keys.delayed, 0, -1)).toEqual(delayed);
  });

  it('two claims past 2^53-1: neither run marked, no fence told twice', async () => {
    const [a, b] = await twoKeyedRuns();
    await setSeq(MAX);
    // The old code gave both runs the fencing number 9007199254740992.
    const first = await f.claimWithFences('w', [a]);
    const second = await f.claimWithFences('w', [b]);
    expect([first, second]).toEqual([[{ verdict: 'no-fence' }], [{ verdict: 'no-fence' }]]);
    for (const run of [a, b]) {
      expect(await f.keyState(run.key)).toMatchObject({ state: 'queued', mid: run.entryId });
      expect((await f.keyState(run.key)).rmid).toBeUndefined();
      expect(await f.pendingOwner(run.entryId)).toBe('w');
    }
  });

  it('a batch whose second fence would pass 2^53-1: the first runs, the second is left unmarked', async () => {
    const [a, b] = await twoKeyedRuns();
    await setSeq(MAX - 1);
    const verdicts = await f.claimWithFences('w', [a, b]);
    expect(verdicts).toEqual([expect.objectContaining({ verdict: 'run', fence: MAX }), { verdict: 'no-fence' }]);
    expect(await f.keyState('b')).toMatchObject({ state: 'queued', mid: b.entryId });
    // Set back, the run given back is claimed with an exact fence.
    await setSeq(100);
    expect(await f.claimWithFences('w', [b])).toEqual([expect.objectContaining({ verdict: 'run', fence: 101 })]);
  });

  it('a completion batch of two periodic runs whose second successor would pass 2^53-1: refused, nothing written', async () => {
    const one = await periodicRunRead(f, 'p1');
    const two = await periodicRunRead(f, 'p2');
    // The old code drew both successors' generation as 9007199254740992 from MAX.
    await setSeq(MAX - 1);
    const before = [await settleWrites(f, one.id, 'p1'), await settleWrites(f, two.id, 'p2')];
    expect(await refusalOf(f.complete('a', [one, two]))).toMatch(PASSED);
    expect([await settleWrites(f, one.id, 'p1'), await settleWrites(f, two.id, 'p2')]).toEqual(before);
    await setSeq(100);
    expect(await f.complete('a', [one, two])).toEqual(['completed', 'completed']);
    expect((await f.keyState('p2')).gen).toBe('102');
  });

  it('a keyed redrive whose generation would pass 2^53-1: refused before it replaces a state that is not a hash', async () => {
    const deadId = await f.redis.xadd(f.keys.deadLetter, '*', 'id', 't1', 'n', 'job', 'p', '1', 'k', 'k', 'g', '1');
    await f.redis.set(f.keys.keyState('k'), 'not a hash');
    await setSeq(MAX);
    const redrive = () => redriveScript(f.keys, { deadLetterId: deadId!, taskId: 't1', key: 'k' }).run(f.redis);
    expect(await refusalOf(redrive())).toMatch(PASSED);
    expect(await f.redis.get(f.keys.keyState('k'))).toBe('not a hash');
    expect(await f.redis.xlen(f.keys.deadLetter)).toBe(1);
    expect(await f.redis.xlen(f.keys.stream)).toBe(0);
    expect(await f.redis.xpending(f.keys.stream, GROUP)).toEqual([0, null, null, null]);
  });
});

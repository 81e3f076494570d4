import { claimScript, type ClaimScriptVerdict } from '../../lib/scripts/claim.script';
import type { FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { removeTaskScript } from '../../lib/scripts/remove-task.script';
import { closeAll } from '../utils/helpers';
import { waitFor } from '../utils/redis';
import { GROUP, LEASE_MS, ScriptFixture, rateLimits } from './script-fixture';
import { heldTaskIds } from '../fixtures/flow-state';

/**
 * Rate limits at the script level (checked rcall: every key declared): admission takes a token
 * (a pending marker), the claim turns it into a start at Redis's time, a restart needs a token
 * of its own, a removal gives an unstarted token back, and a full window leaves one wake per
 * blocked pair, never a poll.
 */
describe('flow rates: tokens at admission, starts at claim, wakes when a window frees', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = rateLimits;
  let n = 0;
  const enqueue = (l: FlowLimits, group = '') => f.enqueueFlow(`t${++n}`, l, group);
  const admitted = () => heldTaskIds(f.redis, f.keys);
  /** `ownLimits`: the claiming worker's definition's limits (they gate the start when given). */
  const claim = async (
    consumer: string,
    entryIds: string[],
    ids: string[],
    ownLimits?: FlowLimits,
  ): Promise<ClaimScriptVerdict[]> =>
    claimScript(f.keys, {
      group: GROUP,
      consumer,
      deferMs: 50,
      stateTtlMs: LEASE_MS,
      messages: entryIds.map((entryId, i) => ({
        entryId,
        taskId: ids[i],
        generation: 0,
        key: undefined,
        rated: true,
        ownLimits,
      })),
    }).run(f.redis);
  const records = async () => (await f.redis.zrange(f.keys.flow.starts, 0, -1)).map((m) => m.split('\0'));
  /** Time passes for the windows: each start record moves `ms` back (markers and reservations hold no time). */
  const ageRecords = async (ms: number) => {
    for (const member of await f.redis.zrange(f.keys.flow.starts, 0, -1)) {
      const parts = member.split('\0');
      const at = parts[0] === 't' ? 2 : 3; // '<W>\0<time>\0<entry id>[\0<delivery>]', W 't\0<task>' or 'g\0<task>\0<group>'
      if (parts[at].startsWith('999999999999999')) continue;
      parts[at] = String(Number(parts[at]) - ms).padStart(16, '0');
      await f.redis.multi().zrem(f.keys.flow.starts, member).zadd(f.keys.flow.starts, 0, parts.join('\0')).exec();
    }
  };

  it('admits up to max per window; the rest wait in the room behind one wake, not a poll', async () => {
    const rate = limits({ max: 2, perMs: 60_000 });
    const replies = [];
    for (let i = 0; i < 10; i++) replies.push(await enqueue(rate));
    expect(replies.map((r) => r.entryId !== undefined)).toEqual([true, true, ...Array(8).fill(false)]);
    expect(await f.redis.zcard(f.keys.flow.room)).toBe(8);
    // One wake for the task's window, whatever the number waiting behind it.
    expect(await f.redis.zrange(f.keys.flow.wake, 0, -1)).toEqual(['job']);
    const delivered = await f.deliver('a');
    expect(delivered.map(([, fields]) => fields.rl)).toEqual(['1', '1']);
    // Two markers (pending starts) count in the window.
    expect((await records()).map((r) => r[2])).toEqual(['9999999999999999', '9999999999999999']);
  });

  it('the claim turns each marker into a start at Redis time, and gives the start time', async () => {
    const rate = limits({ max: 2, perMs: 60_000 }, { max: 5, perMs: 60_000 });
    const a = await enqueue(rate, 'G');
    const [[entryId]] = await f.deliver('a');
    const before = Number((await f.redis.time())[0]) * 1000;
    const [verdict] = await claim('a', [entryId], [a.id]);
    expect(verdict).toMatchObject({ verdict: 'run', windowEndsInMs: 60_000 });
    const startedAt = (verdict as { startedAt: number }).startedAt;
    expect(startedAt).toBeGreaterThanOrEqual(before);
    const recorded = await records();
    expect(recorded.map((r) => r[0] + '/' + r[r.length - 3] + '/' + r[r.length - 1])).toEqual([
      `g/${String(startedAt).padStart(16, '0')}/1`,
      `t/${String(startedAt).padStart(16, '0')}/1`,
    ]);
  });

  it('a restart (reclaimed from a dead worker) waits for a token when the window is full', async () => {
    const rate = limits({ max: 1, perMs: 60_000 });
    const a = await enqueue(rate);
    const [[entryId]] = await f.deliver('dead');
    expect((await claim('dead', [entryId], [a.id]))[0].verdict).toBe('run'); // its first start
    await f.reclaim('b', [[entryId, 'dead']]);
    const [again] = await claim('b', [entryId], [a.id]);
    expect(again.verdict).toBe('wait');
    expect((again as { waitMs: number }).waitMs).toBeGreaterThan(59_000);
    // Waiting writes no start, only its reservation of the window's next token: an admission
    // counts it (so it cannot take that token first), a restart does not.
    expect((await records()).map((r) => r[2])).toEqual([expect.not.stringMatching(/^9{15}/), '9999999999999998']);
    expect((await enqueue(rate)).entryId).toBeUndefined();
    expect(await f.pendingOwner(entryId)).toBe('b'); // still b's, to claim again after the wait
  });

  it('a reservation goes when its run starts, and with its entry when that is removed for good', async () => {
    const rate = limits({ max: 1, perMs: 60_000 }, { max: 1, perMs: 60_000 });
    const a = await enqueue(rate, 'G');
    const [[entryId]] = await f.deliver('dead');
    await claim('dead', [entryId], [a.id]);
    await f.reclaim('b', [[entryId, 'dead']]);
    expect((await claim('b', [entryId], [a.id]))[0].verdict).toBe('wait');
    const reserved = async () => (await records()).filter((r) => r[r.length - 2] === '9999999999999998').length;
    expect(await reserved()).toBe(2); // both windows were full
    // Time passes: its first start leaves the windows (moved back by a window's length).
    await ageRecords(60_000);
    expect((await claim('b', [entryId], [a.id]))[0].verdict).toBe('run');
    expect(await reserved()).toBe(0);
    // Told to wait again (its own start fills the windows), then dead-lettered: the reservation goes.
    await f.reclaim('c', [[entryId, 'b']]);
    expect((await claim('c', [entryId], [a.id]))[0].verdict).toBe('wait');
    expect(await reserved()).toBe(2);
    await f.deadLetter('c', entryId, 'poison', { id: a.id });
    expect(await reserved()).toBe(0);
  });

  it('a window holding only marks wakes when a claim starts one, not every perMs', async () => {
    const rate = limits({ max: 1, perMs: 100 });
    const a = await enqueue(rate); // takes the token: a mark, not started
    expect((await enqueue(rate)).entryId).toBeUndefined(); // waits for the task window, parked
    const parks = async () => Number(await f.redis.hget(f.keys.flow.limits, '\0parked'));
    const wakeAt = async () => Number(await f.redis.zscore(f.keys.flow.wake, 'job'));
    const now = async () => {
      const [seconds, micros] = await f.redis.time();
      return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    };
    expect(await parks()).toBe(1);
    // Nothing can free the token before a's start (its mark counts until then): no wake within
    // perMs that would only find the window full again and re-park the pairs.
    expect((await wakeAt()) - (await now())).toBeGreaterThan(30_000);
    await new Promise((r) => setTimeout(r, 350)); // over 3 windows' length
    await f.promote();
    expect(await parks()).toBe(1);
    // a starts: its record frees the token 100 ms later, and the wake comes forward to then.
    const [[entryId]] = await f.deliver('w');
    const [verdict] = await claim('w', [entryId], [a.id]);
    const startedAt = (verdict as { startedAt: number }).startedAt;
    expect(await wakeAt()).toBe(startedAt + 100);
    await waitFor(async () => (await now()) >= startedAt + 100, { description: "a's start left its window" });
    await f.promote();
    expect(await admitted()).toHaveLength(2); // the waiting task is admitted
  });

  it('a restart with a free token starts at once and counts a second start', async () => {
    const rate = limits({ max: 2, perMs: 60_000 });
    const a = await enqueue(rate);
    const [[entryId]] = await f.deliver('dead');
    await claim('dead', [entryId], [a.id]);
    await f.reclaim('b', [[entryId, 'dead']]);
    expect((await claim('b', [entryId], [a.id]))[0].verdict).toBe('run');
    expect((await records()).map((r) => r[r.length - 1])).toEqual(['1', '2']); // deliveries 1 and 2
    // The window is full now: the next task waits.
    expect((await enqueue(rate)).entryId).toBeUndefined();
  });

  it("the worker's own rates gate a start its admission did not mark (a producer's older definition)", async () => {
    const older = limits(); // recorded by a producer whose definition has no rate: no marker, no rl
    const own = limits({ max: 1, perMs: 60_000 });
    const a = await enqueue(older);
    const b = await enqueue(older);
    const delivered = await f.deliver('w');
    expect(delivered.map(([, fields]) => fields.rl)).toEqual([undefined, undefined]);
    const [first, second] = await claim('w', [delivered[0][0], delivered[1][0]], [a.id, b.id], own);
    expect(first.verdict).toBe('run');
    expect(second.verdict).toBe('wait'); // the window of the worker's rate holds a's start
    expect((second as { waitMs: number }).waitMs).toBeGreaterThan(59_000);
    expect((await records()).map((r) => r[0] + '/' + r[r.length - 2])).toEqual([
      `t/${delivered[0][0]}`,
      `t/9999999999999998`, // b's reservation of the next token
    ]);
  });

  it("a marker of a window the worker's rates lack becomes a start record, not a mark left pending", async () => {
    const recorded = limits({ max: 5, perMs: 60_000 }, { max: 5, perMs: 60_000 });
    const own = limits({ max: 5, perMs: 60_000 }); // its definition dropped groupRateLimit
    const a = await enqueue(recorded, 'G');
    const [[entryId]] = await f.deliver('w');
    const [verdict] = await claim('w', [entryId], [a.id], own);
    const startedAt = String((verdict as { startedAt: number }).startedAt).padStart(16, '0');
    expect((await records()).map((r) => r[0] + '/' + r[r.length - 3])).toEqual([`g/${startedAt}`, `t/${startedAt}`]);
  });

  it('removing an admitted task that never started gives its token back to the next', async () => {
    const rate = limits({ max: 1, perMs: 60_000 });
    const a = await enqueue(rate);
    const b = await enqueue(rate);
    expect(b.entryId).toBeUndefined();
    const reply = await removeTaskScript(f.keys, { id: a.id, state: 'queued', entryId: a.entryId }, LEASE_MS).run(
      f.redis,
    );
    expect(reply).toBe('removed');
    // The token is back: b's pair, parked for the window, is woken now (announced), and the
    // promotion unparks and feeds every parked pair as far as the window allows.
    expect(Number(await f.redis.zscore(f.keys.flow.wake, 'job'))).toBeLessThanOrEqual(Date.now() + 1_000);
    await f.promote();
    expect(await admitted()).toEqual([b.id]);
    expect(await records()).toHaveLength(1); // b's marker only
  });

  it('a removal gives the token back even after a producer without the rate recorded its limits', async () => {
    const a = await enqueue(limits({ max: 1, perMs: 60_000 }));
    await enqueue(limits()); // an older definition, without the rate, is recorded now
    const reply = await removeTaskScript(f.keys, { id: a.id, state: 'queued', entryId: a.entryId }, LEASE_MS).run(
      f.redis,
    );
    expect(reply).toBe('removed');
    expect(await records()).toHaveLength(0); // a's marker went with its entry
    const b = await enqueue(limits({ max: 1, perMs: 60_000 })); // the rate is back: its token is free
    await f.promote(); // the window's wake, due since the token came back
    expect(await admitted()).toContain(b.id);
  });

  it('groupRateLimit: a flooding group does not take another group its tokens', async () => {
    const rate = limits(undefined, { max: 1, perMs: 60_000 });
    const a1 = await enqueue(rate, 'A');
    await enqueue(rate, 'A');
    await enqueue(rate, 'A');
    const b1 = await enqueue(rate, 'B');
    expect(b1.entryId).toBeDefined();
    expect(await admitted()).toEqual([a1.id, b1.id].sort());
    // A's pair waits, out of the ring, for its own window (B's admission took its window's only
    // token, which sets B's wake too, with nothing of B waiting).
    expect(await f.redis.zrange(f.keys.flow.wake, 0, -1)).toEqual(['job\0A', 'job\0B']);
    expect(await f.redis.lrange(f.keys.flow.ring, 0, -1)).toEqual([]);
    expect((await f.redis.zrange(f.keys.flow.room, 0, -1)).map((m) => m.split('\0')[1])).toEqual(['A', 'A']);
  });

  it('a due wake admits what the window allows, and the ring serves groups in turn under rateLimit', async () => {
    const rate = limits({ max: 1, perMs: 150 });
    const a1 = await enqueue(rate, 'A');
    for (let i = 0; i < 4; i++) await enqueue(rate, 'A');
    const b1 = await enqueue(rate, 'B');
    const order = [a1.id];
    const startNext = async () => {
      const [[entryId, fields]] = await f.deliver('a');
      expect((await claim('a', [entryId], [fields.id]))[0].verdict).toBe('run');
    };
    await startNext();
    for (let round = 0; round < 2; round++) {
      const before = (await admitted()).length;
      // Nothing frees a token but time: the promotion serves the wake once the window moved on.
      await waitFor(async () => (await f.promote(), (await admitted()).length > before), { timeoutMs: 5_000 });
      const now = await admitted();
      order.push(now.find((id) => !order.includes(id))!);
      await startNext();
    }
    expect(order[2]).toBe(b1.id); // B's one task is admitted after one turn of A, not after A's four
  });

  it('a newcomer group queues behind the pairs parked for the window, even once a token is free', async () => {
    const rate = limits({ max: 1, perMs: 150 });
    await enqueue(rate, 'A');
    const b = await enqueue(rate, 'B'); // the window is full: B's pair is parked
    expect(b.entryId).toBeUndefined();
    const [[entryId, fields]] = await f.deliver('a');
    const [started] = await claim('a', [entryId], [fields.id]);
    // The token frees when that start leaves the window; no promotion has served the wake yet.
    await waitFor(async () => {
      const [sec, us] = await f.redis.time();
      return Number(sec) * 1000 + Number(us) / 1000 > (started as { startedAt: number }).startedAt + 200;
    });
    const c = await enqueue(rate, 'C');
    expect(c.entryId).toBeUndefined(); // not ahead of B, whose turn came first
    await waitFor(async () => (await f.promote(), (await admitted()).includes(b.id)), { timeoutMs: 5_000 });
    expect(await admitted()).not.toContain(c.id);
  });
});

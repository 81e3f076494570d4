import { closeAll, receivedSoFar } from '../utils/helpers';
import { GROUP, ScriptFixture } from './script-fixture';

const COMPLETED = 'completed';
const SUPERSEDED = 'superseded';
const REFUSED = 'refused';
const SETTLED = 'not-pending';

describe('fencing: settle scripts act only for the delivery that owns the message', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  /** A message delivered to `a`, then taken over by `b` (as a reclaim would). */
  async function takenOver() {
    const [id] = await f.enqueue();
    const [[entryId]] = await f.deliver('a');
    await f.redis.xclaim(f.keys.stream, GROUP, 'b', 0, entryId);
    return { id, entryId };
  }

  it('complete by a worker whose message was taken over is refused and writes nothing', async () => {
    const { id, entryId } = await takenOver();
    expect(await f.complete('a', [{ entryId, id }])).toEqual([REFUSED]);
    expect(await f.redis.exists(f.keys.result(id))).toBe(0);
    expect(await f.redis.xlen(f.keys.stream)).toBe(1);
    expect(await f.pendingOwner(entryId)).toBe('b');
    // The owner settles normally.
    expect(await f.complete('b', [{ entryId, id }])).toEqual([COMPLETED]);
    expect(await f.redis.xlen(f.keys.stream)).toBe(0);
    expect(await f.pendingOwner(entryId)).toBeUndefined();
  });

  it('fail (retry or dead letter) by a worker whose message was taken over is refused', async () => {
    const { id, entryId } = await takenOver();
    expect(await f.fail('a', { entryId, id, retryDelayMs: 0 })).toBe(REFUSED);
    expect(await f.fail('a', { entryId, id, retryDelayMs: -1 })).toBe(REFUSED);
    expect(await f.redis.zcard(f.keys.delayed)).toBe(0);
    expect(await f.redis.xlen(f.keys.deadLetter)).toBe(0);
    expect(await f.pendingOwner(entryId)).toBe('b');
  });

  it('dead-letter by a worker whose message was taken over is refused', async () => {
    const { entryId } = await takenOver();
    expect(await f.deadLetter('a', entryId, 'bad')).toBe(REFUSED);
    expect(await f.redis.xlen(f.keys.deadLetter)).toBe(0);
  });

  it('a resent settle of an already settled run reports it, not a refusal', async () => {
    const [id] = await f.enqueue();
    const [[entryId]] = await f.deliver('a');
    expect(await f.complete('a', [{ entryId, id }])).toEqual([COMPLETED]);
    expect(await f.complete('a', [{ entryId, id }])).toEqual([SETTLED]);
  });

  it('a batch settles each run on its own: one refusal does not block the others', async () => {
    const [id1] = await f.enqueue();
    const [id2] = await f.enqueue();
    const [[e1], [e2]] = await f.deliver('a');
    await f.redis.xclaim(f.keys.stream, GROUP, 'b', 0, e1);
    expect(
      await f.complete('a', [
        { entryId: e1, id: id1 },
        { entryId: e2, id: id2 },
      ]),
    ).toEqual([REFUSED, COMPLETED]);
    expect(await f.redis.exists(f.keys.result(id1))).toBe(0);
    expect(await f.redis.get(f.keys.result(id2))).toBe('{"ok":true,"value":1}');
  });

  it('never acks with a bare XACK: completion publishes only the runs it settled', async () => {
    const sub = f.redis.duplicate();
    const messages: string[] = [];
    // Closed however the case ends: a subscriber left open holds Jest past the suite.
    try {
      await sub.subscribe(f.keys.doneChannel);
      sub.on('message', (_c, m) => messages.push(m));
      const [id1] = await f.enqueue();
      const [id2] = await f.enqueue();
      const [[e1], [e2]] = await f.deliver('a');
      await f.redis.xclaim(f.keys.stream, GROUP, 'b', 0, e1);
      await f.complete('a', [
        { entryId: e1, id: id1 },
        { entryId: e2, id: id2 },
      ]);
      expect(await receivedSoFar(f.redis, f.keys.doneChannel, messages)).toEqual([`c:${id2}`]);
    } finally {
      sub.disconnect();
    }
  });
});

describe('generations: head and tail checks', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it('head check: of gen 1 and gen 2 messages both delivered, only gen 2 runs', async () => {
    await f.enqueue({ key: 'k' });
    const [[e1, m1]] = await f.deliver('a'); // read before the replace landed
    await f.enqueue({ key: 'k', mode: 'replace' });
    const [[e2, m2]] = await f.deliver('a');
    expect(Number(m2.g)).toBeGreaterThan(Number(m1.g));
    const codes = await f.claim('a', [
      { entryId: e1, id: m1.id, key: 'k', gen: Number(m1.g) },
      { entryId: e2, id: m2.id, key: 'k', gen: Number(m2.g) },
    ]);
    expect(codes).toEqual(['stale', 'run']);
    expect(await f.pendingOwner(e1)).toBeUndefined(); // acked without running
    expect((await f.keyState('k')).rmid).toBe(e2);
  });

  it('tail check: a superseded run that finishes acks and writes no result and no state', async () => {
    await f.enqueue({ key: 'k' });
    const [[e1, m1]] = await f.deliver('a');
    expect(await f.claim('a', [{ entryId: e1, key: 'k', gen: Number(m1.g) }])).toEqual(['run']);
    const [, gen2] = await f.enqueue({ key: 'k', mode: 'replace' }); // gen 2 queued while gen 1 runs
    const before = await f.keyState('k');
    expect(await f.complete('a', [{ entryId: e1, id: m1.id, gen: Number(m1.g), key: 'k' }])).toEqual([SUPERSEDED]);
    expect(await f.redis.exists(f.keys.result(m1.id))).toBe(0);
    const after = await f.keyState('k');
    expect(after.state).toBe(before.state);
    expect(after.gen).toBe(String(gen2));
    expect(after.rmid).toBeUndefined(); // released, so gen 2 can run
    expect(await f.pendingOwner(e1)).toBeUndefined();
  });

  it('a superseded run that fails schedules no retry and writes no dead letter', async () => {
    await f.enqueue({ key: 'k' });
    const [[e1, m1]] = await f.deliver('a');
    const gen1 = Number(m1.g);
    await f.claim('a', [{ entryId: e1, key: 'k', gen: gen1 }]);
    await f.enqueue({ key: 'k', mode: 'replace', delayMs: 60_000 });
    const delayedBefore = await f.redis.zcard(f.keys.delayed);
    expect(await f.fail('a', { entryId: e1, id: m1.id, gen: gen1, key: 'k', retryDelayMs: 0 })).toBe(SUPERSEDED);
    expect(await f.fail('a', { entryId: e1, id: m1.id, gen: gen1, key: 'k', retryDelayMs: -1 })).toBe(SETTLED);
    expect(await f.redis.zcard(f.keys.delayed)).toBe(delayedBefore);
    expect(await f.redis.xlen(f.keys.deadLetter)).toBe(0);
    expect((await f.keyState('k')).state).toBe('delayed');
  });

  it('a message without a generation runs and settles even when the key counter is above 0', async () => {
    await f.enqueue({ key: 'k' });
    await f.enqueue({ key: 'k', mode: 'replace' }); // counter at 2
    await f.redis.xtrim(f.keys.stream, 'MAXLEN', 0);
    await f.redis.xadd(f.keys.stream, '*', 'id', 'legacy', 'n', 'job', 'p', '{}', 'a', '1', 'k', 'k');
    const [[entryId]] = await f.deliver('a');
    expect(await f.claim('a', [{ entryId, key: 'k', gen: 0 }])).toEqual(['run']);
    expect(await f.complete('a', [{ entryId, id: 'legacy', gen: 0, key: 'k' }])).toEqual([COMPLETED]);
    expect(await f.redis.exists(f.keys.result('legacy'))).toBe(1);
  });

  it('a newer generation waits while the older run is pending elsewhere: deferred, not overlapped', async () => {
    await f.enqueue({ key: 'k' });
    const [[e1, m1]] = await f.deliver('a');
    await f.claim('a', [{ entryId: e1, key: 'k', gen: Number(m1.g) }]);
    await f.enqueue({ key: 'k', mode: 'replace' });
    const [[e2, m2]] = await f.deliver('b');
    expect(await f.claim('b', [{ entryId: e2, key: 'k', gen: Number(m2.g) }])).toEqual(['deferred']);
    expect(await f.redis.zcard(f.keys.delayed)).toBe(1);
    expect((await f.keyState('k')).rmid).toBe(e1);
  });

  it('cancel bumps the generation: a message already read does not run', async () => {
    await f.enqueue({ key: 'k' });
    const [[e1, m1]] = await f.deliver('a');
    expect(await f.cancel('k')).toBe('cancelled');
    expect(await f.claim('a', [{ entryId: e1, id: m1.id, key: 'k', gen: Number(m1.g) }])).toEqual(['stale']);
    expect((await f.keyState('k')).state).toBe('cancelled');
  });

  it('replace and cancel of a running key publish the new generation, so only older runs stop', async () => {
    const sub = f.redis.duplicate();
    const messages: string[] = [];
    try {
      await sub.subscribe(f.keys.controlChannel);
      sub.on('message', (_c, m) => messages.push(m));
      await f.enqueue({ key: 'a:b' });
      const [[e1, m1]] = await f.deliver('w');
      await f.claim('w', [{ entryId: e1, key: 'a:b', gen: Number(m1.g) }]);
      const [, replaced] = await f.enqueue({ key: 'a:b', mode: 'replace' });
      await f.cancel('a:b');
      const cancelledAt = Number((await f.keyState('a:b')).gen);
      expect(await receivedSoFar(f.redis, f.keys.controlChannel, messages)).toEqual([
        `superseded:${replaced}:a:b`,
        `cancelled:${cancelledAt}:a:b`,
      ]);
      expect(cancelledAt).toBeGreaterThan(replaced);
    } finally {
      sub.disconnect();
    }
  });
});

import { closeAll, createRedis, sleep } from '../utils/helpers';
import { defineCheckedScripts, GROUP, ScriptFixture } from './script-fixture';

describe('reclaim: only dead owners lose their messages, decided atomically', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const reclaim = (me: string, candidates: Array<[entryId: string, owner: string]>, maxDeliveries = 5) =>
    f.reclaim(me, candidates, maxDeliveries);

  it('claims the message of a dead owner', async () => {
    await f.enqueue();
    const [[entryId]] = await f.deliver('dead');
    const { claimed } = await reclaim('b', [[entryId, 'dead']]);
    expect(claimed.map(([id]) => id)).toEqual([entryId]);
    expect(await f.pendingOwner(entryId)).toBe('b');
  });

  it("never takes a live owner's message, however long it has been idle", async () => {
    await f.enqueue();
    const [[entryId]] = await f.deliver('live');
    await f.alive('live');
    const { claimed } = await reclaim('b', [[entryId, 'live']]);
    expect(claimed).toEqual([]);
    expect(await f.pendingOwner(entryId)).toBe('live');
  });

  it('an owner that recovered between the judgement and the claim keeps its message', async () => {
    await f.enqueue();
    const [[entryId]] = await f.deliver('flaky');
    // The sweeper judged "flaky" dead (no liveness key)... then its heartbeat came back.
    await f.alive('flaky');
    const { claimed } = await reclaim('b', [[entryId, 'flaky']]);
    expect(claimed).toEqual([]);
    expect(await f.pendingOwner(entryId)).toBe('flaky');
  });

  it('a candidate already taken by another sweeper is not taken again', async () => {
    await f.enqueue();
    const [[entryId]] = await f.deliver('dead');
    await reclaim('b', [[entryId, 'dead']]);
    const { claimed } = await reclaim('c', [[entryId, 'dead']]); // c's view of the owner is stale
    expect(claimed).toEqual([]);
    expect(await f.pendingOwner(entryId)).toBe('b');
  });

  it('hands a message delivered maxDeliveries times back apart, as poison, for dead-letter.lua', async () => {
    await f.enqueue();
    const [[entryId]] = await f.deliver('w1'); // delivery 1
    await f.redis.xclaim(f.keys.stream, GROUP, 'w2', 0, entryId); // delivery 2
    await f.redis.xclaim(f.keys.stream, GROUP, 'w3', 0, entryId); // delivery 3
    const { claimed, poison } = await reclaim('b', [[entryId, 'w3']], 3);
    expect(claimed).toEqual([]);
    expect(poison.map(([id, , deliveries]) => [id, deliveries])).toEqual([[entryId, 4]]);
    expect(await f.pendingOwner(entryId)).toBe('b'); // held by the sweeper until it dead-letters it
    expect(await f.deadLetter('b', entryId, 'delivered 4 times without settling (poison message?)')).toBe(
      'dead-lettered',
    );
    const [[, fields]] = (await f.redis.xrange(f.keys.deadLetter, '-', '+')) as [string, string[]][];
    expect(fields.join(' ')).toMatch(/delivered 4 times/);
    expect(await f.redis.xlen(f.keys.stream)).toBe(0);
    expect(await f.pendingOwner(entryId)).toBeUndefined();
  });

  it('a hostile entry with thousands of fields never makes a reclaim fail (issue 9, hole 5)', async () => {
    // Lua's unpack() fails past a few thousand values: the old poison path unpacked the entry into
    // XADD, so every reclaim call failed and the dead worker's other messages were never taken.
    const wide = Array.from({ length: 20_000 }, (_, i) => [`f${i}`, 'x']).flat();
    const hostile = (await f.redis.xadd(f.keys.stream, '*', 'id', 'h', 'n', 'job', 'p', '{}', ...wide))!;
    await f.enqueue();
    const [[first], [second]] = await f.deliver('w1');
    expect(first).toBe(hostile);
    for (const owner of ['w2', 'w3']) await f.redis.xclaim(f.keys.stream, GROUP, owner, 0, hostile);
    const { claimed, poison } = await reclaim(
      'b',
      [
        [hostile, 'w3'],
        [second, 'w1'],
      ],
      3,
    );
    expect(claimed.map(([id]) => id)).toEqual([second]);
    expect(poison.map(([id]) => id)).toEqual([hostile]);
    // Dead-lettering it keeps the task's own fields and says how many others it dropped.
    expect(await f.deadLetter('b', hostile, 'poison', { id: 'h' })).toBe('dead-lettered');
    const [[, fields]] = (await f.redis.xrange(f.keys.deadLetter, '-', '+')) as [string, string[]][];
    expect(fields.slice(0, 6)).toEqual(['id', 'h', 'n', 'job', 'p', '{}']);
    expect(fields.slice(6, 8)).toEqual(['dropped-fields', '20000']);
    expect(await f.redis.xlen(f.keys.stream)).toBe(1); // only the innocent one, claimed by b
  });

  it('drops a message deleted while pending instead of claiming nothing forever', async () => {
    await f.enqueue();
    const [[entryId]] = await f.deliver('dead');
    await f.redis.xdel(f.keys.stream, entryId);
    const { claimed, dropped } = await reclaim('b', [[entryId, 'dead']]);
    expect(claimed).toEqual([]);
    expect(dropped).toBe(1);
    expect(await f.pendingOwner(entryId)).toBeUndefined();
  });

  it('removes a dead consumer only when it holds nothing', async () => {
    await f.enqueue();
    await f.deliver('holder');
    await f.redis.xgroup('CREATECONSUMER', f.keys.stream, GROUP, 'empty');
    expect(await f.dropConsumer('holder')).toBe('kept');
    await f.alive('alive-empty');
    await f.redis.xgroup('CREATECONSUMER', f.keys.stream, GROUP, 'alive-empty');
    expect(await f.dropConsumer('alive-empty')).toBe('kept');
    expect(await f.dropConsumer('empty')).toBe('removed');
    const names = ((await f.redis.xinfo('CONSUMERS', f.keys.stream, GROUP)) as string[][]).map((c) => c[1]);
    expect(names.sort()).toEqual(['alive-empty', 'holder']);
  });
});

describe('promote: due delayed tasks move once, whoever runs it', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const promote = async () => (await f.promote()).moved;

  it('moves only due members, and each exactly once when 8 workers promote at once on 8 connections', async () => {
    for (let i = 0; i < 50; i++) await f.enqueue({ delayMs: 1 });
    await f.enqueue({ delayMs: 60_000 });
    await sleep(10); // the 50 fall due
    // Eight workers, each on its own connection (scripts registered, connected before the race).
    const workers = Array.from({ length: 8 }, () => createRedis());
    await Promise.all(workers.map((r) => (defineCheckedScripts(r), r.ping())));
    const moved = await Promise.all(workers.map(async (r) => (await f.promote(r)).moved));
    expect(moved).toHaveLength(8);
    expect(moved.reduce((a, b) => a + b, 0)).toBe(50);
    expect(await f.redis.xlen(f.keys.stream)).toBe(50);
    expect(await f.redis.zcard(f.keys.delayed)).toBe(1);
    const ids = (await f.redis.xrange(f.keys.stream, '-', '+')).map(([, fields]) => fields[1]);
    expect(new Set(ids).size).toBe(50);
  });

  it('skips a stale keyed member instead of appending it', async () => {
    await f.enqueue({ key: 'k', delayMs: 1 });
    // Put a superseded copy back by hand (as if it escaped the ZREM of replace).
    const [stale] = await f.redis.zrange(f.keys.delayed, 0, 0);
    await f.enqueue({ key: 'k', mode: 'replace', delayMs: 1 });
    await f.redis.zadd(f.keys.delayed, 0, stale);
    await sleep(10);
    expect(await promote()).toBe(1);
    const [[, fields]] = await f.redis.xrange(f.keys.stream, '-', '+');
    expect(fields[fields.indexOf('g') + 1]).toBe('2');
    expect((await f.keyState('k')).state).toBe('queued');
  });

  it("tells how long until the next member is due, by Redis's clock", async () => {
    await f.enqueue({ delayMs: 5_000 });
    const { moved, nextDueInMs: nextInMs } = await f.promote();
    expect(moved).toBe(0);
    expect(nextInMs).toBeGreaterThan(4_000);
    expect(nextInMs).toBeLessThanOrEqual(5_000);
    await f.redis.del(f.keys.delayed);
    expect((await f.promote()).nextDueInMs).toBe(-1);
  });

  it('dead-letters a member that does not decode', async () => {
    await f.redis.zadd(f.keys.delayed, 0, 'not json');
    expect(await promote()).toBe(0);
    expect(await f.redis.xlen(f.keys.deadLetter)).toBe(1);
    expect(await f.redis.zcard(f.keys.delayed)).toBe(0);
  });
});

describe('recover: a worker takes back only what it still holds', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it('never takes back an entry another worker reclaimed after the caller listed it', async () => {
    await f.enqueue();
    await f.enqueue();
    const [[lost], [kept]] = await f.deliver('cut-off');
    // cut-off listed both as its own; meanwhile the first was reclaimed by another worker.
    await f.redis.xclaim(f.keys.stream, GROUP, 'rescuer', 0, lost);
    const entries = await f.recover('cut-off', [lost, kept]);
    expect(entries.map(([id]) => id)).toEqual([kept]);
    expect(await f.pendingOwner(lost)).toBe('rescuer');
  });
});

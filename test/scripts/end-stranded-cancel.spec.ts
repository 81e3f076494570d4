import { endStrandedCancels } from '../../lib/consumer/stranded-cancels';
import { endStrandedCancelScript } from '../../lib/scripts/end-stranded-cancel.script';
import { removeTaskScript } from '../../lib/scripts/remove-task.script';
import { watchCommands } from '../fixtures/monitored-commands';
import { closeAll } from '../utils/helpers';
import { receivedSoFar } from '../utils/pubsub';
import { GROUP, LEASE_MS, ScriptFixture } from './script-fixture';

const KEY = 'k';
const TTL_MS = 60_000;

/**
 * end-stranded-cancel.lua, the sweep's judgement of the stranded cancels: a keyed run stranded
 * by a purge (its stream deleted, its delivery with it) that cancel.lua left to its live owner's
 * settle, recording the key. Once that owner's lease lapsed the run is ended as cancel.lua ends a
 * gone one; while it holds, nothing is written; a key released or moved on leaves the set.
 */
describe('scripts: end-stranded-cancel (the sweep ending a cancelled stranded run whose owner died)', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  /** A run of KEY claimed by w1 (alive), its stream deleted and its group made again, then cancelled. */
  async function cancelledStranded() {
    await f.alive('w1');
    const [id, gen] = await f.enqueue({ key: KEY });
    const [[entryId]] = await f.deliver('w1');
    expect(await f.claim('w1', [{ entryId, key: KEY, gen }])).toEqual(['run']);
    await f.redis.del(f.keys.stream);
    await f.redis.xgroup('CREATE', f.keys.stream, GROUP, '0', 'MKSTREAM');
    expect(await f.cancel(KEY, TTL_MS)).toBe('cancelled');
    expect(await f.redis.smembers(f.keys.strandedCancels)).toEqual([KEY]);
    return { id, gen, entryId, key: KEY };
  }

  const judge = (judgedOwner?: string) =>
    endStrandedCancelScript(f.keys, { key: KEY, group: GROUP, stateTtlMs: TTL_MS, judgedOwner }).run(f.redis);
  const sweep = () => endStrandedCancels(f.redis, f.keys, { group: GROUP, stateTtlMs: TTL_MS });

  async function expectEnded(id: string) {
    const state = await f.keyState(KEY);
    expect(state).toMatchObject({ state: 'cancelled', id, xid: id });
    for (const field of ['rmid', 'rown', 'fence', 'rliv', 'rtid']) expect(state).not.toHaveProperty(field);
    expect(await f.redis.pttl(f.keys.keyState(KEY))).toBeGreaterThan(TTL_MS - 10_000);
    expect(await f.redis.exists(f.keys.strandedCancels)).toBe(0);
  }

  it('its owner alive: the first call names it, the judged one keeps the key, nothing written', async () => {
    await cancelledStranded();
    const before = await f.keyState(KEY);
    expect(await judge()).toEqual({ outcome: 'judge-owner', owner: 'w1' });
    expect(await judge('w1')).toBe('kept');
    expect(await sweep()).toBe(0);
    expect(await f.keyState(KEY)).toEqual(before);
    expect(await f.redis.pttl(f.keys.keyState(KEY))).toBe(-1);
    expect(await f.redis.smembers(f.keys.strandedCancels)).toEqual([KEY]);
  });

  it('its owner died after the cancel: the sweep ends the run; its late settle writes nothing', async () => {
    const run = await cancelledStranded();
    await f.redis.del(f.keys.alive('w1'));
    const told: string[] = [];
    const sub = f.redis.duplicate();
    await sub.subscribe(f.keys.doneChannel, f.keys.controlChannel);
    sub.on('message', (_c, m: string) => told.push(m));
    expect(await sweep()).toBe(1);
    await expectEnded(run.id);
    // One subscriber connection hears both channels in publish order: the marker comes last.
    expect(await receivedSoFar(f.redis, f.keys.doneChannel, told)).toEqual([
      `x:${run.id}`,
      expect.stringMatching(/^cancelled:\d+:k$/),
    ]);
    sub.disconnect();
    const ended = await f.keyState(KEY);
    expect(await f.complete('w1', [run])).toEqual(['not-pending']);
    expect(await f.keyState(KEY)).toEqual(ended);
  });

  it('its lease lapsed and taken again (another liveness value than at the claim): ended', async () => {
    const run = await cancelledStranded();
    await f.redis.set(f.keys.alive('w1'), '2', 'PX', LEASE_MS);
    expect(await sweep()).toBe(1);
    await expectEnded(run.id);
  });

  it('its settle came first: the key leaves the set, its state as the settle left it', async () => {
    const run = await cancelledStranded();
    expect(await f.complete('w1', [run])).toEqual(['superseded']);
    const settled = await f.keyState(KEY);
    const ttl = await f.redis.pttl(f.keys.keyState(KEY));
    expect(ttl).toBeGreaterThan(0);
    await f.redis.del(f.keys.alive('w1'));
    expect(await judge()).toBe('dropped');
    expect(await f.keyState(KEY)).toEqual(settled);
    expect(await f.redis.exists(f.keys.strandedCancels)).toBe(0);
  });

  it('the key enqueued again since: it leaves the set, the new run untouched', async () => {
    await cancelledStranded();
    const [id] = await f.enqueue({ key: KEY });
    const state = await f.keyState(KEY);
    expect(state).toMatchObject({ state: 'queued', id });
    await f.redis.del(f.keys.alive('w1'));
    expect(await judge()).toBe('dropped');
    expect(await f.keyState(KEY)).toEqual(state);
  });

  it('a call judging another owner than the state names writes nothing and names it', async () => {
    await cancelledStranded();
    await f.redis.del(f.keys.alive('w1'));
    const before = await f.keyState(KEY);
    expect(await judge('w9')).toEqual({ outcome: 'judge-owner', owner: 'w1' });
    expect(await f.keyState(KEY)).toEqual(before);
    expect(await f.redis.smembers(f.keys.strandedCancels)).toEqual([KEY]);
  });

  it('a set of another type refuses the judgement with nothing written', async () => {
    await cancelledStranded();
    await f.redis.del(f.keys.alive('w1'));
    const before = await f.keyState(KEY);
    await f.redis.del(f.keys.strandedCancels);
    await f.redis.set(f.keys.strandedCancels, 'x');
    await expect(judge('w1')).rejects.toThrow(/WRONGTYPE/);
    expect(await f.keyState(KEY)).toEqual(before);
  });

  // Explorer (explore/traces/cancel-then-entry-deleted-dead-owner.json): the delivery still stood
  // at the cancel (its owner already dead), so cancel.lua left the end to a settle or a reclaim
  // and recorded nothing; the entry was then deleted (an XDEL), the reclaim dropped the delivery,
  // and the state kept 'cancelled' with its running record and no TTL, its waiters never told.
  /** A run of KEY claimed by w1, w1 dead (its liveness key gone), then cancelled: its delivery stands. */
  async function cancelledWhileDeliveryStands() {
    await f.alive('w1');
    const [id, gen] = await f.enqueue({ key: KEY });
    const [[entryId]] = await f.deliver('w1');
    expect(await f.claim('w1', [{ entryId, key: KEY, gen }])).toEqual(['run']);
    await f.redis.del(f.keys.alive('w1'));
    expect(await f.cancel(KEY, TTL_MS)).toBe('cancelled');
    return { id, gen, entryId };
  }

  it('a run cancelled while its delivery stood, its entry deleted after: the sweep ends it', async () => {
    const { id, entryId } = await cancelledWhileDeliveryStands();
    expect(await f.redis.pttl(f.keys.keyState(KEY))).toBe(-1);
    expect(await f.redis.smembers(f.keys.strandedCancels)).toEqual([KEY]);
    // Kept while the delivery stands: a reclaim's claim (or the owner's settle) ends it then.
    expect(await judge()).toBe('kept');
    await f.redis.xdel(f.keys.stream, entryId);
    expect(await f.reclaim('w2', [[entryId, 'w1']])).toMatchObject({ claimed: [], dropped: 1 });
    expect(await sweep()).toBe(1);
    await expectEnded(id);
  });

  it('a run cancelled while its delivery stood, then reclaimed: the claim ends it, the key leaves the set', async () => {
    const { id, gen, entryId } = await cancelledWhileDeliveryStands();
    await f.alive('w2');
    const { claimed } = await f.reclaim('w2', [[entryId, 'w1']]);
    expect(claimed).toHaveLength(1);
    expect(await f.claim('w2', [{ entryId, key: KEY, gen }])).toEqual(['stale']);
    expect(await f.redis.pttl(f.keys.keyState(KEY))).toBeGreaterThan(0);
    expect(await sweep()).toBe(0);
    expect(await f.keyState(KEY)).toMatchObject({ state: 'cancelled', xid: id });
    expect(await f.redis.exists(f.keys.strandedCancels)).toBe(0);
  });

  /**
   * A run of KEY claimed by w1, replaced, its replacement read and deferred behind it by w2: the
   * removal of that replacement (QueueClient.remove of the delayed task).
   */
  async function replacementDeferred() {
    await f.alive('w1');
    const [, gen] = await f.enqueue({ key: KEY });
    const [[entryId]] = await f.deliver('w1');
    expect(await f.claim('w1', [{ entryId, key: KEY, gen }])).toEqual(['run']);
    const [id2, gen2] = await f.enqueue({ key: KEY, mode: 'replace' });
    const [[entryId2]] = await f.deliver('w2');
    await f.alive('w2');
    expect(await f.claim('w2', [{ entryId: entryId2, key: KEY, gen: gen2 }])).toEqual(['deferred']);
    const { dm } = await f.keyState(KEY);
    const removal = () =>
      removeTaskScript(f.keys, { id: id2, state: 'delayed', member: dm, key: KEY }, TTL_MS).run(f.redis);
    return { entryId, id2, removal };
  }

  // remove() of a replacement deferred behind the run it replaced marks the key cancelled and
  // leaves the replaced run's running record to its settle, as cancel.lua does: recorded nothing,
  // its entry deleted after (its worker dead), the state kept 'cancelled' and no TTL for good.
  it('a replacement removed while the run it replaced ran, that entry deleted after: the sweep ends it', async () => {
    const { entryId, id2, removal } = await replacementDeferred();
    expect(await removal()).toBe('removed');
    expect(await f.redis.pttl(f.keys.keyState(KEY))).toBe(-1);
    expect(await f.redis.smembers(f.keys.strandedCancels)).toEqual([KEY]);
    await f.redis.del(f.keys.alive('w1'));
    await f.redis.xdel(f.keys.stream, entryId);
    expect(await f.reclaim('w2', [[entryId, 'w1']])).toMatchObject({ claimed: [], dropped: 1 });
    expect(await sweep()).toBe(1);
    await expectEnded(id2);
  });

  it('such a removal refuses a set of another type with nothing written', async () => {
    const { removal } = await replacementDeferred();
    const before = await f.keyState(KEY);
    await f.redis.set(f.keys.strandedCancels, 'x');
    await expect(removal()).rejects.toThrow(/WRONGTYPE/);
    expect(await f.keyState(KEY)).toEqual(before);
    expect(await f.redis.zcard(f.keys.delayed)).toBe(1);
  });

  it('a page of keys is judged in two round trips, each step sent together, each key as it is', async () => {
    const owners = ['w1', 'w2', 'w3'];
    const runs: Array<{ id: string; key: string }> = [];
    for (const owner of owners) {
      await f.alive(owner);
      const key = `k-${owner}`;
      const [id, gen] = await f.enqueue({ key });
      const [[entryId]] = await f.deliver(owner, 1);
      expect(await f.claim(owner, [{ entryId, key, gen }])).toEqual(['run']);
      runs.push({ id, key });
    }
    await f.redis.del(f.keys.stream);
    await f.redis.xgroup('CREATE', f.keys.stream, GROUP, '0', 'MKSTREAM');
    for (const { key } of runs) expect(await f.cancel(key, TTL_MS)).toBe('cancelled');
    await f.redis.del(f.keys.alive('w2'), f.keys.alive('w3'));
    // The same connection, counting the script calls on their way at once.
    const command = 'sq_end_stranded_cancel';
    let onTheirWay = 0;
    let most = 0;
    const counted = new Proxy(f.redis, {
      get(target, name) {
        const value = Reflect.get(target, name, target) as unknown;
        if (name !== command || typeof value !== 'function')
          return typeof value === 'function' ? value.bind(target) : value;
        return (...args: unknown[]) => {
          most = Math.max(most, ++onTheirWay);
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args).finally(() => onTheirWay--);
        };
      },
    });
    expect(await endStrandedCancels(counted, f.keys, { group: GROUP, stateTtlMs: TTL_MS })).toBe(2);
    expect(most).toBe(3);
    expect(await f.redis.smembers(f.keys.strandedCancels)).toEqual(['k-w1']);
    expect(await f.keyState('k-w1')).toHaveProperty('rown', 'w1');
    for (const { key } of runs.slice(1)) expect(await f.keyState(key)).not.toHaveProperty('rown');
  });

  it('the sweep sends one command while there is nothing to judge', async () => {
    const watch = await watchCommands(f.keys.stream);
    await watch.take();
    expect(await sweep()).toBe(0);
    expect(await watch.take()).toEqual([['srandmember', f.keys.strandedCancels, '100']]);
    watch.close();
  });
});

import { QueueKeys } from '../../lib/redis/keys';
import { cancelScript } from '../../lib/scripts/cancel.script';
import { enqueueFlowScript } from '../../lib/scripts/enqueue-flow.script';
import { enterAdmissionScript } from '../../lib/scripts/enter-admission.script';
import { enqueueManyScript } from '../../lib/scripts/enqueue-many.script';
import { enqueueScript } from '../../lib/scripts/enqueue.script';
import { layoutScript } from '../../lib/scripts/layout.script';
import { scheduleRuntimeScript } from '../../lib/scripts/schedule-runtime.script';
import { closeAll } from '../utils/redis';
import { GROUP, ScriptFixture, rateLimits } from './script-fixture';

// layout.lua on hand-built partitions, and the check enqueue.lua makes against its record.
describe('layout.lua and the layout check', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const CODES = { done: 1, already: 2, 'not-empty': 0, 'not-this-switch': -1, 'too-many-groups': -2 } as const;
  const step = async (op: 'freeze' | 'commit' | 'thaw', keys: QueueKeys, from = 1, to = 4) => {
    const { outcome, record } = await layoutScript(keys, { step: op, from, to }).run(f.redis);
    return [CODES[outcome], record];
  };
  const member = (k?: string) => JSON.stringify({ id: 't', n: 'job', p: '1', a: '1', ...(k ? { k, g: '1' } : {}) });

  it('freezes an empty partition, and refuses one with an unread, a pending or a delayed task', async () => {
    expect(await step('freeze', f.keys)).toEqual([1, '1>4']);
    expect(await f.redis.get(f.keys.layout)).toBe('1>4');
    expect(await step('thaw', f.keys)).toEqual([1, '1']);
    expect(await f.redis.get(f.keys.layout)).toBe('1'); // back to 1 partition, written: never absent again

    await f.enqueue();
    expect(await step('freeze', f.keys)).toEqual([0, '1']); // unread
    await f.deliver('w1');
    expect(await step('freeze', f.keys)).toEqual([0, '1']); // pending
    const [[entryId]] = await f.redis.xrange(f.keys.stream, '-', '+');
    await f.redis.xack(f.keys.stream, GROUP, entryId); // acked, left for a trim: not a task
    expect(await step('freeze', f.keys)).toEqual([1, '1>4']);
    await step('thaw', f.keys);

    await f.redis.zadd(f.keys.delayed, Date.now() + 60_000, member('periodic:report'));
    expect(await step('freeze', f.keys)).toEqual([1, '1>4']); // a periodic chain stays in partition 0
    await step('thaw', f.keys);
    const other = new QueueKeys(f.prefix, 'q', 2);
    await f.redis.zadd(other.delayed, Date.now() + 60_000, member('periodic:report'));
    expect(await step('freeze', other)).toEqual([0, '1']); // ...but nowhere else
    await f.redis.zadd(f.keys.delayed, Date.now() + 60_000, member('user-1'));
    expect(await step('freeze', f.keys)).toEqual([0, '1']);
  });

  // A group's tasks go to its group's partition: a change of count while its flow state is here
  // sends its new tasks elsewhere, where its old ones' slots and tokens are not counted.
  it('refuses to freeze a partition whose flow state holds a task: waiting, holding a slot, or a rate token in its window', async () => {
    const groupLimit = { global: 0, group: 1, agingMs: 1000 };
    // A held slot whose entry the stream no longer shows (acked by hand): the hold alone refuses.
    const a = await f.enqueueFlow('a', groupLimit, 'g1');
    await f.deliver('w1');
    await f.redis.xack(f.keys.stream, GROUP, a.entryId!);
    expect(await step('freeze', f.keys)).toEqual([0, '1']);
    await f.redis.hdel(f.keys.flow.tasks, 'a');
    await f.redis.del(f.keys.flow.count);
    expect(await step('freeze', f.keys)).toEqual([1, '1>4']);
    await step('thaw', f.keys);

    // A group rate window: one run started and settled, the next waiting for its token.
    const rated = rateLimits(undefined, { max: 1, perMs: 1_000 });
    const b = await f.enqueueFlow('b', rated, 'g2');
    await f.deliver('w1');
    await f.claimRated('w1', b.entryId!, 'b');
    await f.complete('w1', [{ entryId: b.entryId!, id: 'b', flow: true }]);
    expect(await f.redis.hlen(f.keys.flow.tasks)).toBe(0);
    expect(await step('freeze', f.keys)).toEqual([0, '1']); // b's start is still in its window
    const c = await f.enqueueFlow('c', rated, 'g2');
    expect(c.entryId).toBeUndefined(); // waits in the room for the token
    expect(await f.redis.xpending(f.keys.stream, GROUP)).toEqual([0, null, null, null]);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // b's start leaves its window
    expect(await step('freeze', f.keys)).toEqual([0, '1']); // c still waits
    await f.redis.hdel(f.keys.flow.tasks, 'c');
    await f.redis.del(f.keys.flow.room);
    expect(await step('freeze', f.keys)).toEqual([1, '1>4']); // drained: only a start that left its window
    await step('thaw', f.keys);

    // A start of a window its task no longer has (the limit removed) counts nothing: it does not
    // hold the switch, though the sweep keeps it for the longest window there is.
    const d = await f.enqueueFlow('d', rateLimits(undefined, { max: 1, perMs: 3_600_000 }), 'g3');
    await f.deliver('w1');
    await f.claimRated('w1', d.entryId!, 'd');
    await f.complete('w1', [{ entryId: d.entryId!, id: 'd', flow: true }]);
    expect(await step('freeze', f.keys)).toEqual([0, '1']);
    await f.enqueueFlow('e', rateLimits(), 'g3'); // records the task's limits without a rate
    expect(await f.runAdmitted('w1')).toEqual(['e']);
    expect(await f.redis.zcard(f.keys.flow.starts)).toBeGreaterThan(0);
    expect(await step('freeze', f.keys)).toEqual([1, '1>4']);
  });

  it('commits only its own frozen record; thaw restores the count it started from', async () => {
    expect(await step('commit', f.keys)).toEqual([-1, '1']);
    await step('freeze', f.keys);
    expect(await step('commit', f.keys)).toEqual([1, '4']);
    expect(await step('commit', f.keys)).toEqual([1, '4']); // idempotent
    expect(await step('freeze', f.keys, 4, 1)).toEqual([1, '4>1']);
    expect(await step('commit', f.keys, 4, 1)).toEqual([1, '1']);
    // Written, not deleted: an absent record under a process of more partitions is one Redis lost.
    expect(await f.redis.get(f.keys.layout)).toBe('1');
  });

  // Adversarial review: two processes booting with the same new count. The second one's freeze
  // overwrote what the first had committed, and its thaw then set the old count back.
  it("never freezes over another switch's record: the new count or this switch's freeze pass, others are refused", async () => {
    const step2 = (op: 'freeze' | 'commit' | 'thaw', keys: QueueKeys, from: number, to: number) =>
      step(op, keys, from, to);
    await f.redis.set(f.keys.layout, '4'); // committed by another process of this switch
    expect(await step2('freeze', f.keys, 1, 4)).toEqual([2, '4']);
    await f.redis.set(f.keys.layout, '1>4'); // frozen by another process of this switch
    expect(await step2('freeze', f.keys, 1, 4)).toEqual([2, '1>4']);
    await f.redis.set(f.keys.layout, '2>4'); // another switch
    expect(await step2('freeze', f.keys, 1, 4)).toEqual([-1, '2>4']);
    await f.redis.set(f.keys.layout, '3'); // another count, inside the old layout
    expect(await step2('freeze', f.keys, 1, 4)).toEqual([-1, '3']);
    expect(await f.redis.get(f.keys.layout)).toBe('3');
    // Outside the old layout a count is what an older layout left there: no process writes it.
    const outside = new QueueKeys(f.prefix, 'q', 2);
    await f.redis.set(outside.layout, '3');
    expect(await step2('freeze', outside, 2, 4)).toEqual([1, '2>4']);
    // A commit of another switch's record writes nothing, its sequence included.
    await f.redis.set(f.keys.layout, '2>4');
    expect(await step2('commit', f.keys, 1, 4)).toEqual([-1, '2>4']);
    expect(await f.redis.exists(f.keys.seq)).toBe(0);
  });

  // Second review: a thaw by the process that froze a partition gave it back to the old count
  // under another process that had found it frozen and went on to commit.
  it('thaws a frozen record only when the last process relying on it thaws', async () => {
    expect(await step('freeze', f.keys)).toEqual([1, '1>4']); // A froze it
    expect(await step('freeze', f.keys)).toEqual([2, '1>4']); // B relies on it too
    expect(await step('thaw', f.keys)).toEqual([1, '1>4']); // A fails: B still relies on it
    expect(await step('thaw', f.keys)).toEqual([1, '1']); // B fails too: the old count again
    expect(await f.redis.get(f.keys.layout)).toBe('1');
    expect(await f.redis.exists(f.keys.layoutFreezers)).toBe(0);
    await step('freeze', f.keys);
    await step('freeze', f.keys);
    expect(await step('commit', f.keys)).toEqual([1, '4']); // one commits for both
    expect(await f.redis.exists(f.keys.layoutFreezers)).toBe(0);
    expect(await step('thaw', f.keys)).toEqual([1, '4']); // a committed record is never thawed
  });

  it('commit raises the sequence to the floor it is given, never lowers it', async () => {
    await step('freeze', f.keys);
    const commit = (sequenceFloor: number) =>
      layoutScript(f.keys, { step: 'commit', from: 1, to: 4, sequenceFloor }).run(f.redis);
    await commit(17);
    expect(await f.redis.get(f.keys.seq)).toBe('17');
    await commit(5); // already committed: the floor still applies, and it only raises
    expect(await f.redis.get(f.keys.seq)).toBe('17');
  });

  // Adversarial review: a dead letter left in a partition is redriven there, under its key's
  // old mapping, beside a new run of the key in its new partition.
  it('refuses to freeze a partition that holds a dead letter', async () => {
    const other = new QueueKeys(f.prefix, 'q', 1);
    await f.redis.xadd(other.deadLetter, '*', 'id', 't', 'n', 'job', 'p', '1', 'k', 'user-1', 'reason', 'boom');
    expect(await step('freeze', other)).toEqual([0, '1']);
    await f.redis.del(other.deadLetter);
    expect(await step('freeze', other)).toEqual([1, '1>4']);
  });

  // Adversarial review: a runtime schedule written under a stale count lands where the new
  // mapping never looks (a second chain of the key, or one no worker reads).
  it('schedule-runtime.lua refuses a schedule whose count is not the record, writing nothing', async () => {
    const other = new QueueKeys(f.prefix, 'q', 1);
    const schedule = (partitions: number) =>
      scheduleRuntimeScript(other, {
        name: 'job',
        queue: 'q',
        key: 'user-1',
        payload: '1',
        schedule: { every: 60_000 },
        fires: [],
        partitions,
      }).run(f.redis);
    await f.redis.set(other.layout, '4');
    await expect(schedule(2)).rejects.toThrow(/^LAYOUT 4 2/);
    expect(await f.redis.exists(other.keyState('user-1'), other.schedules, other.delayed, other.stream)).toBe(0);
    await expect(schedule(4)).resolves.toMatchObject({ outcome: 'created' });
  });

  // Explorer (explore/traces/stale-cancel-refused.json): a cancel under a stale count looks in
  // the key's old partition and answers "nothing live" while the key's run is live in its new one.
  it('cancel.lua refuses a cancel or unschedule whose count is not the record, changing nothing', async () => {
    const other = new QueueKeys(f.prefix, 'q', 1);
    await f.redis.hset(other.keyState('user-1'), 'state', 'queued', 'gen', '1', 'id', 't1');
    const cancel = (partitions: number, scheduleOnly = false) =>
      cancelScript(other, { key: 'user-1', stateTtlMs: 60_000, partitions, scheduleOnly }).run(f.redis);
    await f.redis.set(other.layout, '3');
    await expect(cancel(2)).rejects.toThrow(/^LAYOUT 3 2/);
    await expect(cancel(2, true)).rejects.toThrow(/^LAYOUT 3 2/);
    await f.redis.set(other.layout, '2>3');
    await expect(cancel(2)).rejects.toThrow(/^LAYOUT 2>3 2/);
    expect(await f.redis.hget(other.keyState('user-1'), 'state')).toBe('queued');
    expect(await f.redis.exists(other.seq)).toBe(0);
    await f.redis.set(other.layout, '3');
    await expect(cancel(3)).resolves.toBe('cancelled');
  });

  it('enqueue.lua refuses a keyed task whose count is not the record, frozen or not, writing nothing', async () => {
    const keyed = (count: number) =>
      enqueueScript(f.keys, {
        id: 't1',
        name: 'job',
        payload: '1',
        delayMs: 0,
        runAt: 0,
        mode: 'add',
        key: 'k',
        everyMs: 0,
        periodic: false,
        partitions: count,
      }).run(f.redis);
    await expect(keyed(4)).rejects.toThrow(/^LAYOUT 1 4/);
    await step('freeze', f.keys);
    await expect(keyed(1)).rejects.toThrow(/^LAYOUT 1>4 1/);
    await expect(keyed(4)).rejects.toThrow(/^LAYOUT 1>4 4/);
    expect(await f.redis.exists(f.keys.keyState('k'), f.keys.seq)).toBe(0);
    expect(await f.redis.xlen(f.keys.stream)).toBe(0);
    await step('commit', f.keys);
    await expect(keyed(4)).resolves.toEqual({
      outcome: 'created',
      id: 't1',
      generation: 1,
      entryId: expect.any(String),
    });
  });

  // A group's partition depends on the count: a stale producer's grouped task would land beside
  // none of its group's runs. enqueue-flow.lua wrote it without a check, on every partition.
  it('enqueue-flow.lua refuses a flow task whose count is not the record, frozen or not, on partition 0 too, writing nothing', async () => {
    const other = new QueueKeys(f.prefix, 'q', 1);
    const flowTask = (keys: QueueKeys, count: number, id = 't1') =>
      enqueueFlowScript(keys, {
        id,
        name: 'job',
        payload: '1',
        delayMs: 0,
        runAt: 0,
        group: 'g1',
        limits: { global: 0, group: 1, agingMs: 1000 },
        partitions: count,
      }).run(f.redis);
    await expect(flowTask(f.keys, 2)).rejects.toThrow(/^LAYOUT 1 2/);
    await expect(flowTask(other, 2)).rejects.toThrow(/^LAYOUT 1 2/);
    await step('freeze', f.keys, 1, 2);
    await expect(flowTask(f.keys, 1)).rejects.toThrow(/^LAYOUT 1>2 1/);
    await expect(flowTask(f.keys, 2)).rejects.toThrow(/^LAYOUT 1>2 2/);
    const flowState = await Promise.all(f.keys.flowKeys.map((k) => f.redis.exists(k)));
    expect(flowState.every((n) => n === 0)).toBe(true);
    expect(await f.redis.xlen(f.keys.stream)).toBe(0);
    expect(await f.redis.exists(other.stream, ...other.flowKeys)).toBe(0);
    await step('commit', f.keys, 1, 2);
    await expect(flowTask(f.keys, 2)).resolves.toMatchObject({ outcome: 'created', id: 't1' });
    await f.redis.set(other.layout, '2');
    await expect(flowTask(other, 2, 't2')).resolves.toMatchObject({ outcome: 'created', id: 't2' });
  });

  /** A plain entry of a group-limited task held by consumer 'a': its move by a worker of `count` partitions. */
  const heldPlainEntry = async () => {
    const entryId = (await f.redis.xadd(f.keys.stream, '*', 'id', 't1', 'n', 'job', 'p', '1', 'a', '1'))!;
    await f.deliver('a');
    return (count: number) =>
      enterAdmissionScript(f.keys, {
        group: GROUP,
        consumer: 'a',
        entryId,
        taskId: 't1',
        limits: { global: 0, group: 1, agingMs: 1000 },
        partitions: count,
      }).run(f.redis);
  };

  it('enter-admission.lua moves no plain entry when the worker count is not the record, frozen or not', async () => {
    const move = await heldPlainEntry();
    await f.redis.set(f.keys.layout, '1'); // a count of 1 as a switch writes it
    await expect(move(2)).resolves.toEqual({ outcome: 'stale-count', entryId: '1' });
    // A switch's freeze passed (the entry was not read yet when it looked): a worker of either
    // count admits nothing into the frozen partition.
    await f.redis.set(f.keys.layout, '1>2');
    await expect(move(1)).resolves.toEqual({ outcome: 'stale-count', entryId: '1>2' });
    await expect(move(2)).resolves.toEqual({ outcome: 'stale-count', entryId: '1>2' });
    const flowState = await Promise.all(f.keys.flowKeys.map((k) => f.redis.exists(k)));
    expect(flowState.every((n) => n === 0)).toBe(true);
    expect((await f.redis.xpending(f.keys.stream, GROUP))[0]).toBe(1); // still pending, for the worker to dead-letter
    await f.redis.set(f.keys.layout, '2');
    await expect(move(2)).resolves.toMatchObject({ outcome: 'moved' });
  });

  it('enter-admission.lua takes an absent record under a worker of more partitions as its count (Redis lost it)', async () => {
    const move = await heldPlainEntry();
    expect(await f.redis.exists(f.keys.layout)).toBe(0);
    await expect(move(2)).resolves.toMatchObject({ outcome: 'moved' });
  });

  it('enqueue-many.lua refuses a batch for a partition whose record says another count', async () => {
    const other = new QueueKeys(f.prefix, 'q', 3);
    const batch = (count: number) =>
      enqueueManyScript(other, [{ id: 't1', name: 'job', payload: '1', delayMs: 0, runAt: 0 }], count).run(f.redis);
    await expect(batch(4)).rejects.toThrow(/^LAYOUT 1 4/);
    expect(await f.redis.exists(other.stream)).toBe(0);
    await f.redis.set(other.layout, '4');
    await expect(batch(4)).resolves.toEqual([expect.any(String)]);
  });
  it("clean drops a waiting key state whose message is gone, never one whose run is still there, and only on this switch's frozen record", async () => {
    await f.enqueue({ key: 'live' }); // its entry stays: the record below is frozen by hand
    await f.enqueue({ key: 'purged' });
    await f.enqueue({ key: 'later', delayMs: 3_600_000 });
    await f.enqueue({ key: 'chain', delayMs: 3_600_000, everyMs: 60_000 });
    const entries = await f.redis.xrange(f.keys.stream, '-', '+');
    await f.redis.xdel(f.keys.stream, entries[1][0]); // purged's entry
    await f.redis.del(f.keys.delayed); // later's and chain's members
    await f.redis.hset(f.keys.keyState('done'), 'state', 'completed', 'id', 'x');
    await f.redis.set(f.keys.keyState('text'), 'x');
    // A runtime schedule's state (rt, and the schedule it stores): its key moves with the count.
    const runtime = { state: 'delayed', dm: 'gone', id: 'r', rt: '1', sk: 'every' };
    await f.redis.hset(f.keys.keyState('runtime'), runtime);
    const names = ['live', 'purged', 'later', 'chain', 'done', 'text', 'runtime'].map((k) => f.keys.keyState(k));
    const clean = () => layoutScript(f.keys, { step: 'clean', from: 1, to: 4, keyStates: names }).run(f.redis);

    expect(await clean()).toEqual({ outcome: 'not-this-switch', record: '1' }); // not frozen
    await f.redis.set(f.keys.layout, '1>4');
    expect(await clean()).toEqual({ outcome: 'done', record: '1>4', dropped: 3 });
    const left = await Promise.all(names.map((n) => f.redis.exists(n)));
    expect(left).toEqual([1, 0, 0, 1, 1, 1, 0]); // a @Task chain's key is left to its restore
    expect(await clean()).toEqual({ outcome: 'done', record: '1>4', dropped: 0 });
  });
});

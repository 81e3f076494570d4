import type { FlowKeys } from '../../lib/redis/keys';
import { enqueueFlowScript, type FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { enterAdmissionScript } from '../../lib/scripts/enter-admission.script';
import { failScript } from '../../lib/scripts/fail.script';
import { queueStateScript } from '../../lib/scripts/queue-state.script';
import { removeTaskScript } from '../../lib/scripts/remove-task.script';
import { QueueInspector } from '../../lib/client/queue-inspector';
import { heldTaskIds, waitingTaskIds } from '../fixtures/flow-state';
import { closeAll, sleep } from '../utils/helpers';
import { GROUP, LEASE_MS, ScriptFixture } from '../scripts/script-fixture';

type FlowKey = keyof FlowKeys;

/** groupConcurrency 1: t2 waits behind t1 in its group, and t1's settle hands its slot over. */
const GROUP_ONE: FlowLimits = { global: 0, group: 1, agingMs: 1000 };
/** globalConcurrency 1: t2's pair waits in the ring, and t1's settle lowers the counts and feeds it. */
const GLOBAL_ONE: FlowLimits = { global: 1, group: 0, agingMs: 1000 };
/** One start a minute as well: t1's settle parks t2's pair for the window, with a wake. */
const RATED: FlowLimits = { global: 1, group: 0, agingMs: 1000, rate: { max: 1, perMs: 60_000 } };

/**
 * The limits under which a settle of t1 reaches each key after its ack on the old scripts.
 * flow:refused is not among them: written by SET and read under pcall, it takes any type
 * (health-flow-admission-refused-served-elsewhere.spec).
 */
type CheckedKey = Exclude<FlowKey, 'entered' | 'refused'>;
const REACHED_BY: Record<CheckedKey, FlowLimits> = {
  tasks: GROUP_ONE,
  count: GLOBAL_ONE,
  limits: GROUP_ONE,
  room: GROUP_ONE,
  ring: GROUP_ONE,
  ringed: GLOBAL_ONE,
  starts: GROUP_ONE,
  wake: RATED,
  parked: GLOBAL_ONE,
};

/**
 * Attack on the type of flow control's keys: anyone with Redis access can replace one of the
 * ten (`SET <prefix>:flow:count x`, a LIST where a HASH belongs). Redis does not roll a script
 * back on an error: a settle that met WRONGTYPE after its XACK and XDEL left the run settled in
 * the stream with its slot never released (its retry answered "already settled"), so with
 * groupConcurrency 1 the group never ran again; a failed run's retry was never scheduled (the
 * task lost); a promotion had taken the due retry out of the delayed set, and enter-admission
 * the plain entry out of the stream, before admission failed (both lost); an enqueue or a
 * removal answered an error after it had seated or removed the task.
 * Now each script checks the flow keys it may touch before its first write: a key of another
 * type refuses the call with an error naming it, nothing written, and the call succeeds once
 * the key is a key of its type again (or gone). flow:entered (entry times, read for the oldest
 * waiting age only) reads as none instead, and is replaced.
 */
describe('attack: a flow key of the wrong type', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  /** Replaces flow key `name` with a string; returns what puts it back as it was. */
  async function spoil(name: FlowKey): Promise<() => Promise<unknown>> {
    const key = f.keys.flow[name];
    const saved = await f.redis.dumpBuffer(key);
    await f.redis.multi().del(key).set(key, 'not a flow key').exec();
    return async () => {
      await f.redis.del(key);
      if (saved) await f.redis.restore(key, 0, saved);
    };
  }

  /** t1 admitted and read by 'w' (and started, when rated), t2 waiting behind it. */
  async function t1RunningT2Waiting(limits: FlowLimits): Promise<string> {
    const t1 = (await f.enqueueFlow('t1', limits)).entryId!;
    expect((await f.enqueueFlow('t2', limits)).entryId).toBeUndefined();
    expect((await f.deliver('w')).map(([, fields]) => fields.id)).toEqual(['t1']);
    if (limits.rate) expect((await f.claimRated('w', t1, 't1', limits))[0].verdict).toBe('run');
    return t1;
  }

  /** t2 starts: at once, or (rated) once its window frees and its wake falls due. */
  async function t2Starts(limits: FlowLimits): Promise<void> {
    if (limits.rate) {
      await f.redis.del(f.keys.flow.starts);
      await f.redis.zadd(f.keys.flow.wake, 'XX', 0, 'job');
      await f.promote();
    }
    expect(await heldTaskIds(f.redis, f.keys)).toEqual(['t2']);
    expect((await f.deliver('w')).map(([, fields]) => fields.id)).toEqual(['t2']);
  }

  it.each(Object.keys(REACHED_BY) as CheckedKey[])(
    'flow:%s: a settle is refused naming the key, writes nothing, and releases the slot once the key is back',
    async (name) => {
      const limits = REACHED_BY[name];
      const t1 = await t1RunningT2Waiting(limits);
      const restore = await spoil(name);
      await expect(f.complete('w', [{ entryId: t1, id: 't1', flow: true }])).rejects.toThrow(
        `WRONGTYPE the flow key ${f.keys.flow[name]} holds a string`,
      );
      expect(await f.pendingOwner(t1)).toBe('w'); // not acked: the worker's retry settles it
      await restore();
      expect(await f.complete('w', [{ entryId: t1, id: 't1', flow: true }])).toEqual(['completed']);
      await t2Starts(limits);
    },
  );

  it('flow:count: a failed run is refused, then its retry is scheduled once the key is back (not lost)', async () => {
    const t1 = await t1RunningT2Waiting(GLOBAL_ONE);
    const fail = () =>
      failScript(f.keys, {
        group: GROUP,
        consumer: 'w',
        stateTtlMs: LEASE_MS,
        entryId: t1,
        retryInMs: 60_000,
        resultTtlMs: LEASE_MS,
        failure: '{"ok":false,"error":{"name":"Error","message":"x"}}',
        deadLetterReason: 'boom',
        deadLetterMaxLen: 100,
        successor: '',
        task: { id: 't1', name: 'job', payload: '{}', attempt: 2, generation: 0, keepResult: false, flow: {} },
      }).run(f.redis);
    const restore = await spoil('count');
    await expect(fail()).rejects.toThrow(`WRONGTYPE the flow key ${f.keys.flow.count}`);
    expect(await f.pendingOwner(t1)).toBe('w');
    await restore();
    expect(await fail()).toBe('retry-scheduled');
    expect(await f.redis.zcard(f.keys.delayed)).toBe(1);
    await t2Starts(GLOBAL_ONE);
  });

  it('flow:count: a dead-lettering is refused, then releases the slot once the key is back', async () => {
    const t1 = await t1RunningT2Waiting(GLOBAL_ONE);
    const restore = await spoil('count');
    await expect(f.deadLetter('w', t1, 'poison', { id: 't1' })).rejects.toThrow(
      `WRONGTYPE the flow key ${f.keys.flow.count}`,
    );
    expect(await f.pendingOwner(t1)).toBe('w');
    expect(await f.redis.xlen(f.keys.deadLetter)).toBe(0);
    await restore();
    expect(await f.deadLetter('w', t1, 'poison', { id: 't1' })).toBe('dead-lettered');
    await t2Starts(GLOBAL_ONE);
  });

  it("flow:count: an admitted task's removal is refused, then releases the slot once the key is back", async () => {
    const t1 = (await f.enqueueFlow('t1', GLOBAL_ONE)).entryId!;
    await f.enqueueFlow('t2', GLOBAL_ONE);
    const remove = () => removeTaskScript(f.keys, { id: 't1', state: 'queued', entryId: t1 }, LEASE_MS).run(f.redis);
    const restore = await spoil('count');
    await expect(remove()).rejects.toThrow(`WRONGTYPE the flow key ${f.keys.flow.count}`);
    expect(await f.redis.xlen(f.keys.stream)).toBe(1);
    await restore();
    expect(await remove()).toBe('removed');
    await t2Starts(GLOBAL_ONE);
  });

  it('flow:wake: a rated claim is refused and writes nothing, then starts the run once the key is back', async () => {
    const t1 = (await f.enqueueFlow('t1', RATED)).entryId!;
    await f.deliver('w');
    const starts = await f.redis.zrange(f.keys.flow.starts, 0, -1);
    const restore = await spoil('wake');
    await expect(f.claimRated('w', t1, 't1', RATED)).rejects.toThrow(`WRONGTYPE the flow key ${f.keys.flow.wake}`);
    expect(await f.redis.zrange(f.keys.flow.starts, 0, -1)).toEqual(starts); // its marker not turned into a start
    await restore();
    expect((await f.claimRated('w', t1, 't1', RATED))[0].verdict).toBe('run');
  });

  it('flow:ring: an enqueue is refused and seats nothing, then waits once the key is back', async () => {
    await f.enqueueFlow('t1', GLOBAL_ONE);
    const restore = await spoil('ring');
    await expect(f.enqueueFlow('t2', GLOBAL_ONE)).rejects.toThrow(`WRONGTYPE the flow key ${f.keys.flow.ring}`);
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual([]);
    await restore();
    expect((await f.enqueueFlow('t2', GLOBAL_ONE)).entryId).toBeUndefined();
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual(['t2']);
  });

  it('flow:tasks: a due flow task is not taken out of the delayed set while the key is bad', async () => {
    await enqueueFlowScript(f.keys, {
      id: 't1',
      name: 'job',
      payload: '{}',
      delayMs: 1,
      runAt: 0,
      limits: GROUP_ONE,
    }).run(f.redis);
    await sleep(5);
    const restore = await spoil('tasks');
    await expect(f.promote()).rejects.toThrow(`WRONGTYPE the flow key ${f.keys.flow.tasks}`);
    expect(await f.redis.zcard(f.keys.delayed)).toBe(1);
    await restore();
    await f.promote();
    expect((await f.deliver('w')).map(([, fields]) => fields.id)).toEqual(['t1']);
  });

  it('flow:tasks: a plain entry moved into admission stays in the stream while the key is bad', async () => {
    const entryId = (await f.redis.xadd(f.keys.stream, '*', 'id', 'p1', 'n', 'job', 'p', '{}', 'a', '1'))!;
    await f.deliver('w');
    const enter = () =>
      enterAdmissionScript(f.keys, { group: GROUP, consumer: 'w', entryId, taskId: 'p1', limits: GROUP_ONE }).run(
        f.redis,
      );
    const restore = await spoil('tasks');
    await expect(enter()).rejects.toThrow(`WRONGTYPE the flow key ${f.keys.flow.tasks}`);
    expect(await f.pendingOwner(entryId)).toBe('w');
    await restore();
    expect((await enter()).outcome).toBe('moved');
    expect((await f.deliver('w')).map(([, fields]) => fields.id)).toEqual(['p1']);
  });

  describe('flow:entered (entry times only) reads as none and is replaced', () => {
    it('a settle releases the slot and admits the next task', async () => {
      const t1 = await t1RunningT2Waiting(GROUP_ONE);
      await spoil('entered');
      expect(await f.complete('w', [{ entryId: t1, id: 't1', flow: true }])).toEqual(['completed']);
      await t2Starts(GROUP_ONE);
      expect(await f.redis.type(f.keys.flow.entered)).not.toBe('string');
    });

    it('an enqueue that waits answers so, its entry time recorded', async () => {
      await f.enqueueFlow('t1', GROUP_ONE);
      await spoil('entered');
      expect((await f.enqueueFlow('t2', GROUP_ONE)).entryId).toBeUndefined();
      expect(await waitingTaskIds(f.redis, f.keys)).toEqual(['t2']);
      expect(await f.redis.zrange(f.keys.flow.entered, 0, -1)).toEqual(['t2']);
    });

    it('the queue state and the listing read it as none: the waiting task is counted and listed', async () => {
      await f.enqueueFlow('t1', GROUP_ONE);
      await f.enqueueFlow('t2', GROUP_ONE);
      await spoil('entered');
      expect((await queueStateScript(f.keys, { countLimit: 100 }).run(f.redis)).waitingForSlot).toBe(1);
      const page = await new QueueInspector(f.redis).queued(f.keys, { limit: 10 });
      expect(page.tasks.map((t) => t.id)).toEqual(['t1', 't2']);
    });

    it("a waiting task's removal answers removed and records the cancel", async () => {
      await f.enqueueFlow('t1', GROUP_ONE);
      await f.enqueueFlow('t2', GROUP_ONE);
      await spoil('entered');
      expect(await removeTaskScript(f.keys, { id: 't2', state: 'waiting' }, LEASE_MS).run(f.redis)).toBe('removed');
      expect(await waitingTaskIds(f.redis, f.keys)).toEqual([]);
      expect(await f.redis.get(f.keys.result('t2'))).toBe('{"ok":false,"cancelled":true}');
    });
  });
});

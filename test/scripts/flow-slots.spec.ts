import { completeScript } from '../../lib/scripts/complete.script';
import { enterAdmissionScript } from '../../lib/scripts/enter-admission.script';
import { failScript } from '../../lib/scripts/fail.script';
import { promoteDue } from '../../lib/scripts/promote.script';
import { redriveScript } from '../../lib/scripts/redrive.script';
import { removeTaskScript } from '../../lib/scripts/remove-task.script';
import { closeAll } from '../utils/helpers';
import { GROUP, LEASE_MS, ScriptFixture } from './script-fixture';
import { heldTaskIds, waitingTaskIds } from '../fixtures/flow-state';

/**
 * The held-set invariant of flow control at the script level (checked rcall: every key
 * declared): the held slots are exactly the admitted entries not yet settled, through every
 * settle path, and a release feeds the next waiting task.
 */
describe('flow slots: held == admitted and unsettled, through every settle path', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  let n = 0;
  const enqueue = (group = '', limits = { global: 1, group: 0, agingMs: 1000 }) =>
    f.enqueueFlow(`t${++n}`, limits, group);
  const held = () => heldTaskIds(f.redis, f.keys);
  /** Entries in the stream (admitted), not yet acked: what held must equal. */
  const admitted = async () => {
    const entries = await f.redis.xrange(f.keys.stream, '-', '+');
    return entries.map(([, fields]) => fields[fields.indexOf('id') + 1]).sort();
  };
  const complete = (consumer: string, entryId: string, id: string) =>
    completeScript(f.keys, {
      group: GROUP,
      consumer,
      stateTtlMs: LEASE_MS,
      defaultResultTtlMs: LEASE_MS,
      runs: [
        {
          entryId,
          taskId: id,
          result: '',
          generation: 0,
          resultTtlMs: LEASE_MS,
          keepResult: false,
          successor: '',
          flow: true,
        },
      ],
    }).run(f.redis);
  const fail = (entryId: string, id: string, retryInMs: number | undefined) =>
    failScript(f.keys, {
      group: GROUP,
      consumer: 'a',
      stateTtlMs: LEASE_MS,
      entryId,
      retryInMs,
      resultTtlMs: LEASE_MS,
      failure: '{"ok":false}',
      deadLetterReason: 'x',
      deadLetterMaxLen: 100,
      successor: '',
      task: { id, name: 'job', payload: '{}', attempt: 2, generation: 0, keepResult: false, flow: {} },
    }).run(f.redis);

  it('admits up to the limit, the rest wait; a complete releases and feeds the next', async () => {
    const [a, b, c] = [await enqueue(), await enqueue(), await enqueue()];
    expect(a.entryId).toBeDefined();
    expect([b.entryId, c.entryId]).toEqual([undefined, undefined]);
    expect(await held()).toEqual([a.id]);
    const [[entryId]] = await f.deliver('a');
    expect(await complete('a', entryId, a.id)).toEqual(['completed']);
    expect(await held()).toEqual([b.id]);
    expect(await admitted()).toEqual([b.id]);
    // A resent settle releases nothing a second time.
    expect(await complete('a', entryId, a.id)).toEqual(['not-pending']);
    expect(await held()).toEqual([b.id]);
  });

  it('a dead worker keeps its slot until the reclaim run settles; its late settle releases nothing', async () => {
    const a = await enqueue();
    const b = await enqueue();
    const [[entryId]] = await f.deliver('dead');
    await f.reclaim('b', [[entryId, 'dead']]);
    expect(await held()).toEqual([a.id]); // reclaim itself releases nothing: the run goes on
    expect(await complete('dead', entryId, a.id)).toEqual(['refused']); // fenced
    expect(await held()).toEqual([a.id]);
    expect(await complete('b', entryId, a.id)).toEqual(['completed']);
    expect(await held()).toEqual([b.id]);
  });

  it('a retry releases, waits through its backoff and goes back through admission', async () => {
    const a = await enqueue();
    const b = await enqueue();
    const [[entryId]] = await f.deliver('a');
    expect(await fail(entryId, a.id, 0)).toBe('retry-scheduled');
    expect(await held()).toEqual([b.id]); // the retry does not keep a slot through its backoff
    await promoteDue(f.redis, f.keys, { limit: 100, deadLetterMaxLen: 100, stateTtlMs: 60_000 });
    expect(await held()).toEqual([b.id]); // b holds the only slot: the retry waits in the room
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual([a.id]);
    const [[bEntry]] = await f.deliver('a');
    await complete('a', bEntry, b.id);
    expect(await held()).toEqual([a.id]);
    const [[, fields]] = await f.deliver('a');
    expect(fields.a).toBe('2'); // waiting spent no attempt
  });

  it('a dead letter (fail or dead-letter.lua, the poison path) releases and feeds', async () => {
    const a = await enqueue();
    const b = await enqueue();
    const c = await enqueue();
    const [[entryA]] = await f.deliver('a');
    expect(await fail(entryA, a.id, undefined)).toBe('dead-lettered');
    expect(await held()).toEqual([b.id]);
    const [[entryB]] = await f.deliver('a');
    expect(await f.deadLetter('a', entryB, 'poison', { id: b.id })).toBe('dead-lettered');
    expect(await held()).toEqual([c.id]);
    expect(await admitted()).toEqual([c.id]);
  });

  // Review (read-only, this session): an enqueue resent after a dropped connection ran the
  // script twice with one task id: the second admission overwrote held[id] and counted a second
  // slot that no settle released, or put a second member in the room whose body was gone when
  // fed (a Lua error in the middle of a settle).
  it('an enqueue resent with the same task id takes its slot once, and waits once', async () => {
    const resend = (id: string, limits = { global: 1, group: 0, agingMs: 1000 }) => f.enqueueFlow(id, limits);
    const first = await resend('x');
    const again = await resend('x');
    expect(again).toMatchObject({ id: 'x', entryId: first.entryId });
    expect(await f.redis.hget(f.keys.flow.count, 'job')).toBe('1');
    expect(await f.redis.xlen(f.keys.stream)).toBe(1);
    // Waiting: one member in the room, however often it is resent.
    await resend('y');
    await resend('y');
    expect(await f.redis.zcard(f.keys.flow.room)).toBe(1);
    const [[entryId]] = await f.deliver('a');
    expect(await complete('a', entryId, 'x')).toEqual([expect.anything()]);
    // The release admits y, and nothing is left counted for x.
    expect(await held()).toEqual(['y']);
    expect(await f.redis.hget(f.keys.flow.count, 'job')).toBe('1');
    expect(await f.redis.zcard(f.keys.flow.room)).toBe(0);
  });

  it('a raised limit admits the waiting backlog at once, not one per release', async () => {
    await enqueue();
    await enqueue();
    await enqueue();
    expect((await held()).length).toBe(1);
    await enqueue('', { global: 3, group: 0, agingMs: 1000 });
    expect((await held()).length).toBe(3);
    expect(await f.redis.zcard(f.keys.flow.room)).toBe(1);
  });

  it('the ring serves groups in turn under a group limit', async () => {
    const limits = { global: 0, group: 1, agingMs: 1000 };
    const a1 = await enqueue('A', limits);
    await enqueue('A', limits);
    const b1 = await enqueue('B', limits);
    expect(await held()).toEqual([a1.id, b1.id].sort());
    const [[e1], [e2]] = await f.deliver('a');
    await complete('a', e2, b1.id);
    expect(await held()).toEqual([a1.id]); // B has nothing waiting; A's group is still full
    await complete('a', e1, a1.id);
    expect((await held()).length).toBe(1);
    expect(await admitted()).toEqual(await held());
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual([]);
  });

  it.each([
    ['the ring', { global: 1, group: 0, agingMs: 1000 }],
    ['the release fast path (a group limit: the ring stays empty)', { global: 0, group: 1, agingMs: 1000 }],
  ])(
    'a waiting member whose fields do not decode is admitted packed, and its dead letter releases it: %s admits the next',
    async (_, limits) => {
      const a = await enqueue('G', limits);
      const b = await enqueue('G', limits);
      const c = await enqueue('G', limits);
      await f.garbleWaitingMember(b.id);
      const [[entryA]] = await f.deliver('a');
      expect(await complete('a', entryA, a.id)).toEqual(['completed']); // the settle does not fail
      // Admitted as it is (a settle does not decode a member): its task id and fl are flat.
      expect(await held()).toEqual([b.id]);
      const [[entryB, fields]] = await f.deliver('a');
      expect(fields).toMatchObject({ id: b.id, fl: '1', j: '{not json' });
      // Its reader finds no task in it and dead-letters it: the slot goes to the next.
      expect(await f.deadLetter('a', entryB, 'malformed', { id: b.id })).toBe('dead-lettered');
      expect(await held()).toEqual([c.id]);
      expect(await admitted()).toEqual([c.id]);
      expect(await f.redis.zcard(f.keys.flow.room)).toBe(0);
    },
  );

  it('removing an admitted entry that never ran releases its slot and feeds the next', async () => {
    const a = await enqueue();
    const b = await enqueue();
    const reply = await removeTaskScript(f.keys, { id: a.id, state: 'queued', entryId: a.entryId }, LEASE_MS).run(
      f.redis,
    );
    expect(reply).toBe('removed');
    expect(await held()).toEqual([b.id]);
    expect(await admitted()).toEqual([b.id]);
  });

  it('a redriven flow task goes through admission: it waits for the slot, keeping its id, group and priority', async () => {
    const a = await enqueue('G');
    const b = await enqueue('G');
    const [[entryA]] = await f.deliver('a');
    expect(await fail(entryA, a.id, undefined)).toBe('dead-lettered');
    expect(await held()).toEqual([b.id]); // b holds the only slot now
    const [[deadLetterId]] = await f.redis.xrange(f.keys.deadLetter, '-', '+');
    const reply = await redriveScript(f.keys, { deadLetterId, taskId: a.id, key: undefined }).run(f.redis);
    expect(reply).toMatchObject({ outcome: 'redriven', entryId: '' }); // waits: b holds the slot
    expect(await admitted()).toEqual([b.id]);
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual([a.id]);
    expect(await f.redis.xlen(f.keys.deadLetter)).toBe(0);
    const [[entryB]] = await f.deliver('a');
    await complete('a', entryB, b.id);
    expect(await held()).toEqual([a.id]);
    const [[, fields]] = await f.deliver('a');
    expect(fields).toMatchObject({ id: a.id, a: '1', fl: '1', gr: 'G', r: '1' });
  });

  it('removing a task waiting in the room takes it out of the room', async () => {
    const a = await enqueue();
    const b = await enqueue();
    const reply = await removeTaskScript(f.keys, { id: b.id, state: 'waiting' }, LEASE_MS).run(f.redis);
    expect(reply).toBe('removed');
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual([]);
    expect(await f.redis.zcard(f.keys.flow.room)).toBe(0);
    const [[entryA]] = await f.deliver('a');
    await complete('a', entryA, a.id);
    expect(await held()).toEqual([]); // nothing was left to feed
    expect(await admitted()).toEqual([]);
    // Gone: a second removal finds nothing.
    expect(await removeTaskScript(f.keys, { id: b.id, state: 'waiting' }, LEASE_MS).run(f.redis)).toBe('not-there');
  });

  it('a plain entry of a limited task read by a worker moves into admission, keeping its id and attempt', async () => {
    const a = await enqueue();
    // What a producer without the task's definition writes: no fl field.
    const plainEntry = await f.redis.xadd(f.keys.stream, '*', 'id', 'plain', 'n', 'job', 'p', '{}', 'a', '1');
    const delivered = await f.deliver('a');
    expect(delivered.map(([entryId]) => entryId)).toEqual([a.entryId, plainEntry]);
    const move = (consumer: string) =>
      enterAdmissionScript(f.keys, {
        group: GROUP,
        consumer,
        entryId: plainEntry!,
        taskId: 'plain',
        limits: { global: 1, group: 0, agingMs: 1000 },
      }).run(f.redis);
    expect(await move('b')).toEqual({ outcome: 'not-ours', entryId: '' }); // only its reader moves it
    expect(await move('a')).toEqual({ outcome: 'moved', entryId: '' }); // a holds the slot: it waits
    expect(await admitted()).toEqual([a.id]);
    expect(await f.redis.xpending(f.keys.stream, GROUP, '-', '+', 10)).toHaveLength(1);
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual(['plain']);
    expect(await f.redis.get(f.keys.result('plain'))).toBe('{"ok":null}'); // not settled, for status()
    expect(await move('a')).toEqual({ outcome: 'not-ours', entryId: '' }); // moved once
    await complete('a', a.entryId!, a.id);
    expect(await held()).toEqual(['plain']);
    const [[, fields]] = await f.deliver('a');
    expect(fields).toMatchObject({ id: 'plain', n: 'job', a: '1', fl: '1', r: '1' });
  });
});

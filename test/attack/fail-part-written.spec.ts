import { failScript, type FailedTask } from '../../lib/scripts/fail.script';
import type { FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { closeAll } from '../utils/redis';
import { GROUP, LEASE_MS, ScriptFixture } from '../scripts/script-fixture';
import { refusalOf, settleWrites as written, successorOf } from '../fixtures/settle-writes';

/** One run at a time: a second task waits in the room for the first one's slot. */
const GLOBAL_ONE: FlowLimits = { global: 1, group: 0, agingMs: 1000 };

/**
 * Attack on fail.lua and dead-letter.lua refused midway. fail.lua acked and deleted the failed
 * run's entry and released its flow slots (feeding the room: a waiting task admitted) before its
 * retry's ZADD into the delayed set or its dead letter's XADD; fail.lua and dead-letter.lua ended
 * a periodic run's key state before its successor's ZADD. Redis does not roll a script back, so
 * a delayed set or dead-letter stream of another type (anyone with Redis access can SET one)
 * failed the settle after them: the task acked and gone, neither retried nor dead-lettered
 * (lost), a periodic chain ended without its successor. Now both scripts read those keys' types
 * before their first write: a refused settle writes nothing, the run stays pending to its
 * worker, and the worker's settle goes through once the key is of its type again (or gone).
 */
describe('attack: a failure settle Redis refuses midway', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  /** fail.lua of the run `entryId` of task `task` by consumer 'a': a retry in `retryInMs`, or a dead letter. */
  function fail(entryId: string, task: Partial<FailedTask> & { id: string }, retryInMs?: number, successor = '') {
    return failScript(f.keys, {
      group: GROUP,
      consumer: 'a',
      stateTtlMs: LEASE_MS,
      entryId,
      retryInMs,
      resultTtlMs: LEASE_MS,
      failure: '{"ok":false,"error":{"name":"Error","message":"x"}}',
      deadLetterReason: 'boom',
      deadLetterMaxLen: 100,
      successor,
      task: { name: 'job', payload: '{}', attempt: 2, generation: 0, keepResult: false, ...task },
    }).run(f.redis);
  }

  /** An unkeyed task enqueued and read by consumer 'a': its id and entry. */
  async function delivered(key?: string): Promise<{ id: string; entryId: string; gen: number }> {
    const [id, gen] = await f.enqueue({ key });
    const [[entryId]] = await f.deliver('a');
    return { id, entryId, gen };
  }

  it('a retry, its delayed set a string: refused naming it, the run still pending, retried once the set is back', async () => {
    const { id, entryId } = await delivered();
    await f.redis.set(f.keys.delayed, 'x');
    const before = await written(f, id);
    const refusal = await refusalOf(fail(entryId, { id }, 100));
    expect(await written(f, id)).toEqual(before);
    expect(refusal).toMatch(`WRONGTYPE the delayed set ${f.keys.delayed} holds a string`);
    await f.redis.del(f.keys.delayed);
    await expect(fail(entryId, { id }, 100)).resolves.toBe('retry-scheduled');
    expect(await f.redis.zcard(f.keys.delayed)).toBe(1);
  });

  it('a keyed retry, its delayed set a string: its key state left as it was', async () => {
    const { id, entryId, gen } = await delivered('k');
    await f.redis.set(f.keys.delayed, 'x');
    const before = await written(f, id, 'k');
    const refusal = await refusalOf(fail(entryId, { id, key: 'k', generation: gen }, 100));
    expect(await written(f, id, 'k')).toEqual(before);
    expect(refusal).toMatch(/^WRONGTYPE the delayed set/);
  });

  it('a dead letter, its dead-letter stream a string: refused naming it, the run still pending, dead-lettered once it is back', async () => {
    const { id, entryId } = await delivered();
    await f.redis.set(f.keys.deadLetter, 'x');
    const before = await written(f, id);
    const refusal = await refusalOf(fail(entryId, { id }));
    expect(await written(f, id)).toEqual(before);
    expect(refusal).toMatch(`WRONGTYPE the dead-letter stream ${f.keys.deadLetter} holds a string`);
    await f.redis.del(f.keys.deadLetter);
    await expect(fail(entryId, { id })).resolves.toBe('dead-lettered');
    expect(await f.redis.xlen(f.keys.deadLetter)).toBe(1);
  });

  it('a flow run retried, its delayed set a string: its slot still held, the task waiting for it still waiting', async () => {
    await f.enqueueFlow('t1', GLOBAL_ONE);
    await f.enqueueFlow('t2', GLOBAL_ONE);
    const [[entryId]] = await f.deliver('a');
    await f.redis.set(f.keys.delayed, 'x');
    const before = await written(f, 't1');
    const refusal = await refusalOf(fail(entryId, { id: 't1', flow: {} }, 100));
    expect(await written(f, 't1')).toEqual(before);
    expect(refusal).toMatch(/^WRONGTYPE the delayed set/);
  });

  it("a periodic run's last failure, its delayed set a string: no dead letter, its chain's state left as it was", async () => {
    const key = 'periodic:job';
    await f.enqueue({ key, periodic: true });
    await f.redis.hset(f.keys.keyState(key), 'sk', 'every', 'every', '60000');
    const [[entryId, fields]] = await f.deliver('a');
    await f.redis.set(f.keys.delayed, 'x');
    const before = await written(f, fields.id, key);
    const task = { id: fields.id, key, generation: Number(fields.g), dueAt: Number(fields.d) };
    const refusal = await refusalOf(fail(entryId, task, undefined, successorOf(key)));
    expect(await written(f, fields.id, key)).toEqual(before);
    expect(refusal).toMatch(/^WRONGTYPE the delayed set/);
  });

  it('dead-letter.lua of a periodic poison run, its delayed set a string: no dead letter, its chain left as it was', async () => {
    const key = 'periodic:job';
    await f.enqueue({ key, periodic: true });
    await f.redis.hset(f.keys.keyState(key), 'sk', 'every', 'every', '60000');
    const [[entryId, fields]] = await f.deliver('a');
    await f.redis.set(f.keys.delayed, 'x');
    const before = await written(f, fields.id, key);
    const refusal = await refusalOf(
      f.deadLetter('a', entryId, 'poison', { id: fields.id, key, timing: { e: 60_000 } }),
    );
    expect(await written(f, fields.id, key)).toEqual(before);
    expect(refusal).toMatch(/^WRONGTYPE the delayed set/);
    await f.redis.del(f.keys.delayed);
    await expect(f.deadLetter('a', entryId, 'poison', { id: fields.id, key, timing: { e: 60_000 } })).resolves.toBe(
      'dead-lettered',
    );
    expect(await f.redis.zcard(f.keys.delayed)).toBe(1);
  });
});

import { TaskTimeoutError } from '../../lib';
import { promoteDue } from '../../lib/scripts/promote.script';
import { waitingResult } from '../fixtures/waiting-result';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { defineCheckedScripts } from '../scripts/script-fixture';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/helpers';

const PENDING_MARKER = '{"ok":null}';

/**
 * A dead-lettered delayed member tells waiters and writes a result only for a run it proves is
 * the one it ends (a key state whose waiting member it is): anyone can ZADD a member naming any
 * task id. A hand-written member that does not decode, naming the id of a task that is queued
 * elsewhere, must neither tell that task's result() waiter it failed nor write its result key;
 * nor may a member naming a key whose state holds another run, or two members naming one key
 * with different ids. (An unkeyed task's waiting member is recorded nowhere, so promote.lua cannot
 * tell a rewritten member of it from a forged one naming a task that is queued: it tells neither.)
 */
describe('attack: a dead-lettered delayed member naming a live task', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const checked = createRedis();
  let producer: TestApp;
  beforeAll(() => defineCheckedScripts(checked));
  beforeEach(async () => {
    producer = await startApp({ prefix, options: { worker: false } });
  });
  afterEach(async () => {
    await closeApps();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  const promote = () => promoteDue(checked, producer.keys, { limit: 100, deadLetterMaxLen: 100, stateTtlMs: 60_000 });

  const waiting = (id: string, key?: string, timeoutMs = 1_000) => waitingResult(producer, id, { key, timeoutMs });

  /** A member that does not decode as a task (field a a number), naming `fields`. */
  const forged = (fields: Record<string, string>) =>
    JSON.stringify({ ...fields, n: 'echo', p: '"x"' }).replace(/}$/, ',"a":1}');

  it('an unkeyed task queued (nothing stored) and one whose retry runs (the pending marker)', async () => {
    const queued = await producer.client.enqueue('echo', 'x');
    const retried = await producer.client.enqueue('echo', 'y');
    await redis.set(producer.keys.result(retried.id), PENDING_MARKER, 'PX', 60_000);
    const answers = [(await waiting(queued.id)).answer, (await waiting(retried.id)).answer];
    await redis.zadd(producer.keys.delayed, 0, forged({ id: queued.id }), 0, forged({ id: retried.id }));

    await promote();

    expect(await redis.xlen(producer.keys.deadLetter)).toBe(2);
    for (const answer of answers) expect(await answer).toBeInstanceOf(TaskTimeoutError);
    expect(await redis.exists(producer.keys.result(queued.id))).toBe(0);
    expect(await redis.get(producer.keys.result(retried.id))).toBe(PENDING_MARKER);
  });

  it('members naming a live keyed run: a copy of it, another id under its key, its id under another key', async () => {
    const run = await producer.client.enqueue('echo', 'x', { key: 'k', delayMs: 3_600_000 });
    const other = await producer.client.enqueue('echo', 'y', { key: 'j', delayMs: 3_600_000 });
    const [gen] = await redis.hmget(producer.keys.keyState('k'), 'gen');
    const answers = [(await waiting(run.id, 'k')).answer, (await waiting(other.id, 'j')).answer];
    // Its key, id and generation while its own member is still delayed; another task's id under
    // its key and generation; its id and generation under another key.
    await redis.zadd(
      producer.keys.delayed,
      0,
      forged({ id: run.id, k: 'k', g: gen! }),
      0,
      forged({ id: other.id, k: 'k', g: gen! }),
      0,
      forged({ id: run.id, k: 'j', g: gen! }),
    );

    await promote();

    expect(await redis.xlen(producer.keys.deadLetter)).toBe(3);
    for (const answer of answers) expect(await answer).toBeInstanceOf(TaskTimeoutError);
    expect(await redis.exists(producer.keys.result(run.id), producer.keys.result(other.id))).toBe(0);
    expect(await redis.hmget(producer.keys.keyState('k'), 'state', 'id')).toEqual(['delayed', run.id]);
    expect(await redis.hmget(producer.keys.keyState('j'), 'state', 'id')).toEqual(['delayed', other.id]);
  });
  it('members the two JSON readers take otherwise, before a rewritten keyed run: its own key ends, its result is its own', async () => {
    const run = await producer.client.enqueue('echo', 'x', { key: 'k', delayMs: 3_600_000 });
    const [member] = await redis.zrange(producer.keys.delayed, 0, 0);
    const { answer } = await waiting(run.id, 'k', 10_000);
    const odd = [
      '{"id":"a","k":"k","k":null,"n":"echo","p":"1","a":"1"}', // JSON.parse: no key; cjson: null
      '{"id":"b","k":0x1,"n":"echo","p":"1","a":"1"}', // JSON.parse refuses it; cjson reads a number
      '{"id":"c","k":"\\ud800","n":"echo","p":"1","a":"1"}', // JSON.parse: a key; cjson refuses it
      '{"id":"","k":"k","n":"echo","p":"1","a":1}', // key k, id '' (none)
      Buffer.from('{"id":"d","k":"k","n":"echo","p":"\xff","a":"1"}', 'latin1'), // not UTF-8 text
    ];
    for (const m of odd) await redis.zadd(producer.keys.delayed, 0, m);
    await redis.zrem(producer.keys.delayed, member);
    await redis.zadd(producer.keys.delayed, 1, member.replace('"a":"1"', '"a":1'));

    await promote();

    const error = (await answer) as { causeName?: string };
    expect(error.causeName).toBe('DeadLetter');
    expect(await redis.hget(producer.keys.keyState('k'), 'state')).toBe('failed');
    expect(await redis.exists(...['a', 'b', 'c', 'd'].map((id) => producer.keys.result(id)))).toBe(0);
  });
});

import { TaskFailedError } from '../../lib';
import { promoteDue } from '../../lib/scripts/promote.script';
import { waitingResult } from '../fixtures/waiting-result';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { defineCheckedScripts } from '../scripts/script-fixture';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/helpers';

const STATE_TTL_MS = 60_000;

/** Settles like `promise`, as a value or as the error: `expect` can then inspect either. */
const outcome = <T>(promise: Promise<T>): Promise<T | unknown> => promise.catch((e: unknown) => e);

/**
 * A keyed delayed run whose member promote.lua dead-letters (written by hand: one that does not
 * decode as a task, or is not UTF-8 text) ends its key 'failed' with the reason and tells its
 * result() waiters 'f:<id>'. A waiter told 'f' reads the failure under the task's result key, where
 * fail.lua and dead-letter.lua store it; promote.lua stored none there, so the waiter rejected with
 * "its error is not stored (resultTtlMs 0, or expired)" while a result() asked a moment later read
 * the reason from the key state. promote.lua now stores the dead letter's failure under the result
 * key, as dead-letter.lua does: both waiters read the reason.
 */
describe('attack: a result() waiter of a keyed run that promote.lua dead-letters', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  // Scripts checked for undeclared keys (see test/scripts/declared-keys.ts).
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

  const promote = (stateTtlMs = STATE_TTL_MS) =>
    promoteDue(checked, producer.keys, { limit: 100, deadLetterMaxLen: 100, stateTtlMs });

  /** A keyed run delayed an hour: its id and its member. */
  const delayedRun = async (key: string): Promise<[string, string]> => {
    const handle = await producer.client.enqueue('echo', 'x', { key, delayMs: 3_600_000 });
    const [member] = await redis.zrange(producer.keys.delayed, 0, 0);
    return [handle.id, member];
  };

  const waiting = (id: string) => waitingResult(producer, id, { key: 'k', timeoutMs: 10_000 });

  const failure = (error: unknown) =>
    error instanceof TaskFailedError ? { causeName: error.causeName, message: error.message } : error;

  it('a member rewritten in place (field a a number): the waiter rejects with the reason', async () => {
    const [id, member] = await delayedRun('k');
    const { answer } = await waiting(id);
    await redis.zrem(producer.keys.delayed, member);
    await redis.zadd(producer.keys.delayed, 0, member.replace('"a":"1"', '"a":1'));

    await promote();

    const reason = { causeName: 'DeadLetter', message: 'delayed member does not decode' };
    expect(failure(await answer)).toEqual(reason);
    // A result() asked later reads the same.
    expect(failure(await outcome(producer.client.handle(id, { key: 'k' }).result({ timeoutMs: 1_000 })))).toEqual(
      reason,
    );
    const ttl = await redis.pttl(producer.keys.result(id));
    expect(ttl > 0 && ttl <= STATE_TTL_MS).toBe(true);
  });

  it("its own member (the state's dm) not UTF-8 text: the waiter rejects with the reason", async () => {
    const [id, member] = await delayedRun('k');
    const bytes = Buffer.from(member);
    const x = bytes.indexOf('x');
    const hostile = Buffer.concat([bytes.subarray(0, x), Buffer.from([0xff]), bytes.subarray(x + 1)]);
    const { answer } = await waiting(id);
    await redis.zrem(producer.keys.delayed, member);
    await redis.zadd(producer.keys.delayed, 0, hostile);
    await redis.hset(producer.keys.keyState('k'), 'dm', hostile);

    await promote();

    expect(failure(await answer)).toEqual({ causeName: 'DeadLetter', message: 'delayed member is not UTF-8 text' });
  });

  it('with a state TTL of 0 (resultTtlMs 0) nothing is stored, as dead-letter.lua stores nothing then', async () => {
    const [id, member] = await delayedRun('k');
    await redis.zrem(producer.keys.delayed, member);
    await redis.zadd(producer.keys.delayed, 0, member.replace('"a":"1"', '"a":1'));

    await expect(promote(0)).resolves.toEqual({ moved: 0, nextDueInMs: -1 });

    expect(await redis.xlen(producer.keys.deadLetter)).toBe(1);
    // Both expire at once: the key state (includes/key-state.lua expireSettled) and the result.
    expect(await redis.exists(producer.keys.keyState('k'), producer.keys.result(id))).toBe(0);
  });
});

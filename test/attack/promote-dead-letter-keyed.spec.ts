import { createRedis, closeAll } from '../utils/redis';
import { receivedSoFar } from '../utils/pubsub';
import { LEASE_MS, ScriptFixture } from '../scripts/script-fixture';

/**
 * A keyed delayed run whose member promote.lua dead-letters (a member written by hand: one that
 * does not decode as a task, or is not UTF-8 text) left its key state 'delayed' without a member
 * and without a TTL: status() said pending for good, a result() waiter was never told, cancel()
 * answered "cancelled" (and told 'x:<id>') for a run already dead-lettered, and the hash stayed
 * until the key's next enqueue. The dead letter now ends the key as dead-letter.lua ends a keyed
 * one: 'failed' with the reason, the settled TTL, its waiters told 'f:<id>'. Only when the member
 * is the state's own run: its exact text is the state's member (dm), or it names the state's key,
 * task id and generation and the state's own member is gone. A state whose member is still
 * delayed is left alone.
 */
describe('attack: a keyed delayed member that promote.lua dead-letters', () => {
  let f: ScriptFixture;
  const subscriber = createRedis();
  let told: string[] = [];
  beforeAll(() => subscriber.on('message', (_channel: string, message: string) => told.push(message)));
  beforeEach(async () => {
    f = await new ScriptFixture().setUp();
    told = [];
    await subscriber.subscribe(f.keys.doneChannel);
  });
  afterEach(async () => {
    await subscriber.unsubscribe(f.keys.doneChannel);
    await f.tearDown();
  });
  afterAll(closeAll);

  /** A keyed run delayed an hour: its id and its member. */
  const delayedRun = async (key: string): Promise<[string, string]> => {
    const [id] = await f.enqueue({ key, delayMs: 3_600_000 });
    const [member] = await f.redis.zrange(f.keys.delayed, 0, 0);
    return [id, member];
  };
  const ended = async (key: string) => {
    const state = await f.keyState(key);
    const ttl = await f.redis.pttl(f.keys.keyState(key));
    return { state: state.state, error: state.error, dm: state.dm, ttlSet: ttl > 0 && ttl <= LEASE_MS };
  };

  it('rewritten by hand in place (field a a number): the key ends failed, its waiters told', async () => {
    const [id, member] = await delayedRun('k');
    const hostile = member.replace('"a":"1"', '"a":1');
    expect(hostile).not.toBe(member);
    await f.redis.zrem(f.keys.delayed, member);
    await f.redis.zadd(f.keys.delayed, 0, hostile);

    await f.promote();

    const [[, letter]] = await f.redis.xrange(f.keys.deadLetter, '-', '+');
    expect(letter).toEqual(['raw', hostile, 'reason', 'delayed member does not decode']);
    expect(await ended('k')).toEqual({
      state: 'failed',
      error: 'delayed member does not decode',
      dm: undefined,
      ttlSet: true,
    });
    expect(await receivedSoFar(f.redis, f.keys.doneChannel, told)).toEqual([`f:${id}`]);
    expect(await f.cancel('k')).toBe('nothing-live'); // it answered 'cancelled' before
  });

  it("its own member (the state's dm) not UTF-8 text: the key ends failed", async () => {
    const [id, member] = await delayedRun('k');
    const bytes = Buffer.from(member.replace('"p":"{\\"n\\":1}"', '"p":"\\"x\\""'));
    const hostile = Buffer.concat([
      bytes.subarray(0, bytes.indexOf('x')),
      Buffer.from([0xff]),
      bytes.subarray(bytes.indexOf('x') + 1),
    ]);
    await f.redis.zrem(f.keys.delayed, member);
    await f.redis.zadd(f.keys.delayed, 0, hostile);
    await f.redis.hset(f.keys.keyState('k'), 'dm', hostile);

    await f.promote();

    const [[, letter]] = await f.redis.xrange(f.keys.deadLetter, '-', '+');
    expect(letter[3]).toBe('delayed member is not UTF-8 text');
    expect(await ended('k')).toEqual({
      state: 'failed',
      error: 'delayed member is not UTF-8 text',
      dm: undefined,
      ttlSet: true,
    });
    expect(await receivedSoFar(f.redis, f.keys.doneChannel, told)).toEqual([`f:${id}`]);
  });

  it("a malformed copy beside the state's own member, still delayed, leaves the state alone", async () => {
    const [, member] = await delayedRun('k');
    await f.redis.zadd(f.keys.delayed, 0, member.replace('"a":"1"', '"a":1'));

    await f.promote();

    expect(await f.redis.xlen(f.keys.deadLetter)).toBe(1);
    expect(await f.redis.zrange(f.keys.delayed, 0, -1)).toEqual([member]);
    expect(await f.keyState('k')).toMatchObject({ state: 'delayed', dm: member });
    expect(await f.redis.pttl(f.keys.keyState('k'))).toBe(-1);
    expect(await receivedSoFar(f.redis, f.keys.doneChannel, told)).toEqual([]);
  });
});

import { enterAdmissionScript } from '../../lib/scripts/enter-admission.script';
import { redriveScript } from '../../lib/scripts/redrive.script';
import { schedulePeriodicScript } from '../../lib/scripts/schedule-periodic.script';
import { scheduleRuntimeScript } from '../../lib/scripts/schedule-runtime.script';
import { written } from '../fixtures/keyed-writes';
import { refusalOf } from '../fixtures/settle-writes';
import { receivedSoFar } from '../utils/pubsub';
import { closeAll, createRedis } from '../utils/redis';
import { GROUP, ScriptFixture } from '../scripts/script-fixture';
import { LAST_ENTRY_ID } from '../fixtures/last-entry-id';

const EXHAUSTED = /exhausted the last possible ID/;

/**
 * Attack on a stream whose last id is the largest there is (anyone with Redis access can XSETID
 * it): every `XADD *` to it is refused ('ERR The stream has exhausted the last possible ID'). The
 * scripts that move a task into a stream after taking it out of where it was lost it, as Redis
 * does not roll a script back: promote.lua removed a due member from the delayed set (ZREM), then
 * its XADD to the stream (or, for a member that does not decode, to the dead-letter stream) was
 * refused; fail.lua acked and deleted a run's entry before its dead letter's XADD; redrive.lua
 * marked the task's stored failure unsettled (or drew and wrote its key's generation) before its
 * XADD. Now each appends before it removes or rewrites: the refusal leaves the task where it was,
 * moved once the stream takes ids again. A review finding; the spec failed.
 */
describe('attack: a stream out of ids', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const exhaust = (stream: string) => f.redis.xsetid(stream, LAST_ENTRY_ID);
  /** A delayed task of `key` (or none) made due now: its member. */
  async function dueMember(key?: string): Promise<string> {
    await f.enqueue({ key, delayMs: 60_000 });
    const [member] = await f.redis.zrange(f.keys.delayed, 0, -1);
    await f.redis.zadd(f.keys.delayed, 'XX', 0, member);
    return member;
  }

  it.each([
    ['a plain task', undefined],
    ['a keyed task', 'k'],
  ])('promote.lua of %s due: refused, the member still delayed', async (_, key) => {
    const member = await dueMember(key);
    const state = key ? await f.keyState(key) : {};
    await exhaust(f.keys.stream);
    expect(await refusalOf(f.promote())).toMatch(EXHAUSTED);
    expect(await f.redis.zrange(f.keys.delayed, 0, -1)).toEqual([member]);
    if (key) expect(await f.keyState(key)).toEqual(state);
  });

  it('promote.lua of a member that does not decode, the dead letters out of ids: refused, the member kept', async () => {
    await f.redis.zadd(f.keys.delayed, 0, 'not json');
    await f.redis.xadd(f.keys.deadLetter, '*', 'x', '1');
    await exhaust(f.keys.deadLetter);
    expect(await refusalOf(f.promote())).toMatch(EXHAUSTED);
    expect(await f.redis.zrange(f.keys.delayed, 0, -1)).toEqual(['not json']);
  });

  it("fail.lua of a run's last failure, the dead letters out of ids: refused, the run still pending", async () => {
    await f.enqueue({ id: 't1' });
    const [[entryId]] = await f.deliver('a');
    await f.redis.xadd(f.keys.deadLetter, '*', 'x', '1');
    await exhaust(f.keys.deadLetter);
    expect(await refusalOf(f.fail('a', { entryId, id: 't1', retryDelayMs: -1 }))).toMatch(EXHAUSTED);
    expect(await f.pendingOwner(entryId)).toBe('a');
    expect(await f.redis.xrange(f.keys.stream, entryId, entryId)).toHaveLength(1);
  });

  it('fail.lua refused at its dead letter tells the done channel nothing: the run is still pending', async () => {
    // Told 'f' while the run stayed pending, a result() waiter rejected with TaskFailedError (its
    // error not stored), once per retry of the settle (every 500 ms), though the run could still
    // end otherwise (taken over by another worker once this one is gone).
    const subscriber = createRedis();
    const heard: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => heard.push(message));
    await subscriber.subscribe(f.keys.doneChannel);
    await f.enqueue({ id: 't1' });
    const [[entryId]] = await f.deliver('a');
    await f.redis.xadd(f.keys.deadLetter, '*', 'x', '1');
    await exhaust(f.keys.deadLetter);
    expect(await refusalOf(f.fail('a', { entryId, id: 't1', retryDelayMs: -1 }))).toMatch(EXHAUSTED);
    expect(await receivedSoFar(f.redis, f.keys.doneChannel, heard)).toEqual([]);
    // The stream takes ids again: the dead letter and its notice go together.
    await f.redis.del(f.keys.deadLetter);
    expect(await f.fail('a', { entryId, id: 't1', retryDelayMs: -1 })).toBe('dead-lettered');
    expect(await receivedSoFar(f.redis, f.keys.doneChannel, heard)).toEqual(['f:t1']);
    subscriber.disconnect();
  });

  it.each([
    ['a plain task', undefined],
    ['a keyed task', 'k'],
  ])('redrive.lua of %s: refused, its stored failure and key untouched', async (_, key) => {
    const keyFields = key ? ['k', key, 'g', '1'] : [];
    const deadId = await f.redis.xadd(f.keys.deadLetter, '*', 'id', 't1', 'n', 'job', 'p', '1', ...keyFields);
    const failure = '{"ok":false,"error":{"name":"Error","message":"x"}}';
    await f.redis.set(f.keys.result('t1'), failure);
    await exhaust(f.keys.stream);
    const redrive = redriveScript(f.keys, { deadLetterId: deadId!, taskId: 't1', key }).run(f.redis);
    expect(await refusalOf(redrive)).toMatch(EXHAUSTED);
    expect(await f.redis.get(f.keys.result('t1'))).toBe(failure);
    expect(await f.redis.xlen(f.keys.deadLetter)).toBe(1);
    if (key) expect(await f.redis.exists(f.keys.keyState(key))).toBe(0);
    expect(await f.redis.xpending(f.keys.stream, GROUP)).toEqual([0, null, null, null]);
  });
  /** Messages heard on `channel` from now on. */
  async function listen(channel: string): Promise<string[]> {
    const subscriber = createRedis();
    const heard: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => heard.push(message));
    await subscriber.subscribe(channel);
    return heard;
  }
  /** A replace() of `@Task` periodic task 'job' (schedule-periodic.lua), due in `delayMs` (0: now). */
  const replacePeriodic = (delayMs: number) =>
    schedulePeriodicScript(f.keys, {
      mode: 'replace',
      name: 'job',
      queue: 'default',
      payload: '"x"',
      schedule: { every: 3_600_000 },
      runAt: 0,
      delayMs,
    }).run(f.redis);
  /** schedule() of key 'k' on `cron` (schedule-runtime.lua): `fires` empty, its first run is due now. */
  const scheduleCron = (cron: string, fires: number[]) =>
    scheduleRuntimeScript(f.keys, {
      name: 'job',
      queue: f.keys.queue,
      key: 'k',
      payload: '"x"',
      schedule: { cron, timezone: 'UTC' },
      fires,
      partitions: 1,
    }).run(f.redis);

  it.each([
    ['delayed', false],
    ['running', true],
  ])(
    "schedule-periodic.lua's replace() due now, the key's run %s: refused, nothing written, no notice",
    async (_, running) => {
      await replacePeriodic(60_000);
      const state = f.keys.keyState('periodic:job');
      if (running) await f.redis.hset(state, 'state', 'running', 'rmid', '1-1', 'rown', 'a');
      const control = await listen(f.keys.controlChannel);
      await exhaust(f.keys.stream);
      const before = await written(f.redis, f.keys, 'periodic:job');
      expect(await refusalOf(replacePeriodic(0))).toMatch(EXHAUSTED);
      expect(await written(f.redis, f.keys, 'periodic:job')).toEqual(before);
      // Told 'superseded', the worker running the key's run aborted it for a call that was refused.
      expect(await receivedSoFar(f.redis, f.keys.controlChannel, control)).toEqual([]);
    },
  );

  it('schedule-runtime.lua re-timing a schedule to a first run due now: refused, nothing written, no notice', async () => {
    await scheduleCron('0 * * * *', [Date.now() + 3_600_000]);
    const done = await listen(f.keys.doneChannel);
    await exhaust(f.keys.stream);
    const before = await written(f.redis, f.keys, 'k');
    expect(await refusalOf(scheduleCron('30 * * * *', []))).toMatch(EXHAUSTED);
    expect(await written(f.redis, f.keys, 'k')).toEqual(before);
    expect(await receivedSoFar(f.redis, f.keys.doneChannel, done)).toEqual([]);
  });
  it.each([
    ['queued', false],
    ['running', true],
  ])(
    "enqueue.lua's replace() of a key whose run is %s, due now: refused, nothing written, no notice",
    async (_, running) => {
      await f.enqueue({ id: 'old', key: 'k' });
      if (running) {
        const [[entryId]] = await f.deliver('a');
        await f.alive('a');
        expect(await f.claim('a', [{ entryId, id: 'old', key: 'k', gen: 1 }])).toEqual(['run']);
      }
      const done = await listen(f.keys.doneChannel);
      const control = await listen(f.keys.controlChannel);
      await exhaust(f.keys.stream);
      const before = await written(f.redis, f.keys, 'k');
      expect(await refusalOf(f.enqueue({ key: 'k', mode: 'replace' }))).toMatch(EXHAUSTED);
      expect(await written(f.redis, f.keys, 'k')).toEqual(before);
      // Told 's:old', its waiters rejected TaskSupersededError; told 'superseded', its worker
      // aborted the running run: both for a call that failed, the old run still the key's.
      expect(await receivedSoFar(f.redis, f.keys.doneChannel, done)).toEqual([]);
      expect(await receivedSoFar(f.redis, f.keys.controlChannel, control)).toEqual([]);
    },
  );
  it('enter-admission.lua of a plain entry admitted at once: refused, the entry still pending', async () => {
    const entryId = (await f.redis.xadd(f.keys.stream, '*', 'id', 'plain', 'n', 'job', 'p', '{}', 'a', '1'))!;
    await f.deliver('a');
    await exhaust(f.keys.stream);
    const move = enterAdmissionScript(f.keys, {
      group: GROUP,
      consumer: 'a',
      entryId,
      taskId: 'plain',
      limits: { global: 1, group: 0, agingMs: 1000 },
    }).run(f.redis);
    expect(await refusalOf(move)).toMatch(EXHAUSTED);
    // Acked and deleted before its admission's XADD, the task was in no stream, room or set.
    expect(await f.pendingOwner(entryId)).toBe('a');
    expect(await f.redis.xrange(f.keys.stream, entryId, entryId)).toHaveLength(1);
  });
});

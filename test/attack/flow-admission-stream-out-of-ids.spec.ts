import { completeScript } from '../../lib/scripts/complete.script';
import { failScript } from '../../lib/scripts/fail.script';
import { heldTaskIds, waitingTaskIds } from '../fixtures/flow-state';
import { closeAll } from '../utils/redis';
import { sleep } from '../utils/helpers';
import { GROUP, LEASE_MS, ScriptFixture } from '../scripts/script-fixture';
import { LAST_ENTRY_ID } from '../fixtures/last-entry-id';

/**
 * Attack on a stream out of ids (XSETID, which anyone with Redis access can run) under flow
 * control: a settle that releases a run's slot admits the next waiting task (flowRelease,
 * includes/flow.lua), and that admission took the task out of the room (ZREM) before its XADD
 * to the stream, after the settle's own writes (the ack, the delete, the retry's or dead
 * letter's). Refused there, Redis took nothing back: the waiting task was gone from the room
 * (still recorded waiting), the run's slot never given back (the count kept it, no entry held
 * it: the task's limit one short for good), and the settle itself rejected after its ack (a
 * retry's backoff never scheduled: the failed run lost; its worker's retry answered "already
 * settled"). Now a refused admission leaves the task waiting, the slot released, the settle
 * answered, and a wake so that a promotion admits it once the stream takes ids again. A review
 * finding; the spec failed.
 */
describe('attack: a flow admission in a settle, the stream out of ids', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  // A global limit parks the waiting pair (its release unparks it: globalUnpark); a group limit
  // hands the released slot over in place (flowRelease's own admission).
  const limitsOf = {
    globalConcurrency: { global: 1, group: 0, agingMs: 1000 },
    groupConcurrency: { global: 0, group: 1, agingMs: 1000 },
  };
  const task = (id: string) => ({ id, name: 'job', payload: '{}', attempt: 2, generation: 0, keepResult: false });
  const settles: Record<string, (entryId: string, id: string) => Promise<unknown>> = {
    'complete.lua': (entryId, id) =>
      completeScript(f.keys, {
        group: GROUP,
        consumer: 'a',
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
      })
        .run(f.redis)
        .then(([verdict]) => verdict),
    ...Object.fromEntries(
      [
        ["fail.lua's retry", 60_000],
        ["fail.lua's dead letter", undefined],
      ].map(([name, retryInMs]) => [
        name,
        (entryId: string, id: string) =>
          failScript(f.keys, {
            group: GROUP,
            consumer: 'a',
            stateTtlMs: LEASE_MS,
            entryId,
            retryInMs: retryInMs as number | undefined,
            resultTtlMs: LEASE_MS,
            failure: '{"ok":false}',
            deadLetterReason: 'x',
            deadLetterMaxLen: 100,
            successor: '',
            task: { ...task(id), flow: {} },
          }).run(f.redis),
      ]),
    ),
    'dead-letter.lua': (entryId, id) => f.deadLetter('a', entryId, 'poison', { id }),
  };
  const expected: Record<string, string> = {
    'complete.lua': 'completed',
    "fail.lua's retry": 'retry-scheduled',
    "fail.lua's dead letter": 'dead-lettered',
    'dead-letter.lua': 'dead-lettered',
  };

  it.each(Object.keys(settles).flatMap((name) => Object.keys(limitsOf).map((kind) => [name, kind])))(
    '%s under %s: settled, the waiting task still waits, the slot released; admitted once the stream takes ids',
    async (name, kind) => {
      const limits = limitsOf[kind as keyof typeof limitsOf];
      const a = await f.enqueueFlow('a1', limits);
      const b = await f.enqueueFlow('b1', limits);
      expect(b.entryId).toBeUndefined();
      const [[entryId]] = await f.deliver('a');
      await f.redis.xsetid(f.keys.stream, LAST_ENTRY_ID);

      expect(await settles[name](entryId, a.id)).toBe(expected[name]);
      expect(await f.redis.xpending(f.keys.stream, GROUP)).toEqual([0, null, null, null]);
      expect(await waitingTaskIds(f.redis, f.keys)).toEqual(['b1']);
      expect(await f.redis.zcard(f.keys.flow.room)).toBe(1);
      expect(await heldTaskIds(f.redis, f.keys)).toEqual([]);
      expect(await f.redis.hgetall(f.keys.flow.count)).toEqual({});
      if (name === "fail.lua's retry") expect(await f.redis.zcard(f.keys.delayed)).toBe(1);

      // An operator makes the stream anew: the wake left behind, once due, admits the task.
      await f.redis.del(f.keys.stream);
      await f.redis.xgroup('CREATE', f.keys.stream, GROUP, '0', 'MKSTREAM');
      const wakes = await f.redis.zrange(f.keys.flow.wake, 0, -1);
      expect(wakes.length).toBeGreaterThan(0);
      for (const wake of wakes) await f.redis.zadd(f.keys.flow.wake, 'XX', 0, wake);
      await f.promote();
      expect(await heldTaskIds(f.redis, f.keys)).toEqual(['b1']);
      expect((await f.deliver('a')).map(([, fields]) => fields.id)).toEqual(['b1']);
    },
  );

  // The health check reads the partition's streak from flow:refused (health-flow-admission-
  // refused*.spec): every refused try, a settle's or a promotion's, writes it; none other does.
  it('records each refused try in flow:refused, the first kept, with a TTL; a key of another type is replaced', async () => {
    const a = await f.enqueueFlow('a1', limitsOf.globalConcurrency);
    await f.enqueueFlow('b1', limitsOf.globalConcurrency);
    const [[entryId]] = await f.deliver('a');
    await f.redis.xsetid(f.keys.stream, LAST_ENTRY_ID);
    await f.redis.hset(f.keys.flow.refused, 'not', 'a string');
    expect(await settles['complete.lua'](entryId, a.id)).toBe('completed');
    const record = /^(\d+) (\d+) 1 (.*)$/.exec((await f.redis.get(f.keys.flow.refused)) ?? '');
    expect(record?.[1]).toBe(record?.[2]);
    expect(record?.[3]).toMatch(/exhausted the last possible ID/);
    expect(await f.redis.pttl(f.keys.flow.refused)).toBeGreaterThan(2_000);
    expect(await f.redis.pttl(f.keys.flow.refused)).toBeLessThanOrEqual(3_000);

    // The wake's try, refused again: the same first refusal, a later last, two tries.
    await sleep(20);
    await f.redis.zadd(f.keys.flow.wake, 'XX', 0, '\x02');
    expect((await f.promote()).admissionRefused).toMatchObject({ tries: 2 });
    const again = /^(\d+) (\d+) 2 /.exec((await f.redis.get(f.keys.flow.refused)) ?? '');
    expect(again?.[1]).toBe(record?.[1]);
    expect(Number(again?.[2])).toBeGreaterThan(Number(record?.[1]));

    // Admitted once the stream takes ids: the record is left to its TTL, not written.
    await f.redis.del(f.keys.stream);
    await f.redis.xgroup('CREATE', f.keys.stream, GROUP, '0', 'MKSTREAM');
    const before = await f.redis.get(f.keys.flow.refused);
    await f.redis.zadd(f.keys.flow.wake, 'XX', 0, '\x02');
    expect((await f.promote()).admissionRefused).toBeUndefined();
    expect(await heldTaskIds(f.redis, f.keys)).toEqual(['b1']);
    expect(await f.redis.get(f.keys.flow.refused)).toBe(before);
  });
});

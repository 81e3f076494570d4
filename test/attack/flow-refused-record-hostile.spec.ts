import { heldTaskIds, waitingTaskIds } from '../fixtures/flow-state';
import { closeAll } from '../utils/redis';
import { ScriptFixture } from '../scripts/script-fixture';
import { LAST_ENTRY_ID } from '../fixtures/last-entry-id';

/**
 * Attack on flow:refused, the partition's streak of refused admissions of waiting flow tasks
 * (includes/flow.lua noteRefusedAdmission), which anyone with Redis access can write. A refused
 * try kept the record's first time whatever it was: one in the future (a hand-written record, or
 * one replicated from a master whose clock ran ahead) stayed the streak's first at every try,
 * each renewing it, so the streak read first > last for good and the health check, which takes
 * such a record for none, stayed up while the stream refused every admission; one from long ago
 * (a record left without a TTL) made the first refusal read as a streak of years. A try now keeps
 * the first only from a record flow.lua could have written: its first no later than its last, its
 * last no later than now and at most the record's TTL ago. A review finding; the spec failed.
 */
describe('attack: a hand-written flow:refused record at a refused admission', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  /** A refused try: a's settle releases its slot, b1's admission is refused (the stream out of ids). */
  async function refusedTry(): Promise<void> {
    const limits = { global: 1, group: 0, agingMs: 1000 };
    const a = await f.enqueueFlow('a1', limits);
    await f.enqueueFlow('b1', limits);
    const [[entryId]] = await f.deliver('a');
    await f.redis.xsetid(f.keys.stream, LAST_ENTRY_ID);
    expect(await f.complete('a', [{ entryId, id: a.id, flow: true }])).toEqual(['completed']);
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual(['b1']);
    expect(await heldTaskIds(f.redis, f.keys)).toEqual([]);
  }

  const redisNow = async () => {
    const [s, us] = await f.redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };

  it.each([
    ['a first time in the future', (now: number) => `${now + 86_400_000} ${now} 4 ERR x`],
    ['a first time after its last', (now: number) => `${now - 100} ${now - 1_000} 4 ERR x`],
    ['a last time in the future', (now: number) => `${now - 1_000} ${now + 86_400_000} 4 ERR x`],
    ['a last time long past (no TTL)', (now: number) => `${now - 86_400_000} ${now - 3_600_000} 4 ERR x`],
    ['a count of 40 digits', (now: number) => `${now - 1_000} ${now - 500} ${'9'.repeat(40)} ERR x`],
  ])('%s: the streak starts anew at the try', async (_, record) => {
    await f.redis.set(f.keys.flow.refused, record(await redisNow()));
    const before = await redisNow();
    await refusedTry();
    const after = await redisNow();
    const written = /^(\d+) (\d+) (\d+) (.*)$/.exec((await f.redis.get(f.keys.flow.refused)) ?? '');
    expect(written?.[4]).toMatch(/exhausted the last possible ID/);
    expect({ tries: written?.[3], sameTime: written?.[1] === written?.[2] }).toEqual({ tries: '1', sameTime: true });
    expect(Number(written?.[1])).toBeGreaterThanOrEqual(before);
    expect(Number(written?.[1])).toBeLessThanOrEqual(after);
  });

  it('a live record flow.lua could have written keeps its first time and counts on', async () => {
    const now = await redisNow();
    await f.redis.set(f.keys.flow.refused, `${now - 60_000} ${now - 1_000} 41 ERR x`, 'PX', 3_000);
    await refusedTry();
    const written = /^(\d+) (\d+) (\d+) /.exec((await f.redis.get(f.keys.flow.refused)) ?? '');
    expect({ first: Number(written?.[1]), tries: written?.[3] }).toEqual({ first: now - 60_000, tries: '42' });
  });
});

import type { FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { closeAll } from '../utils/helpers';
import { ScriptFixture } from '../scripts/script-fixture';

/**
 * Attack on F.count, the runs each task and (task, group) holds: anyone who can write to Redis
 * can set a count to a value HINCRBY refuses ('x', '1.5', or one at 2^63 - 1 that the next
 * increment overflows). The settle that released a run of that task raised the error after its
 * XACK and XDEL: every later release of its batch (other tasks' runs too) and its PUBLISH were
 * skipped, the retried settle answered "already settled", so those slots stayed taken for good
 * and, at the limit, their tasks never ran again. An admission raised it after its XADD.
 * A count HINCRBY refuses now reads as none, as countOf reads it.
 */
describe('attack: a count in F.count that HINCRBY refuses', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits: FlowLimits = { global: 1, group: 0, agingMs: 1000 };

  it.each(['x', '1.5', '9223372036854775807'])(
    "the task's count at %s: the settle releases every run of its batch and admits the waiting task",
    async (hostile) => {
      const other: FlowLimits = { global: 0, group: 1, agingMs: 1000 };
      const t1 = (await f.enqueueFlow('t1', limits)).entryId!;
      expect((await f.enqueueFlow('t2', limits)).entryId).toBeUndefined(); // waits for the slot
      const o1 = (await f.enqueueFlow('o1', other, '', 'other')).entryId!;
      expect((await f.enqueueFlow('o2', other, '', 'other')).entryId).toBeUndefined();
      expect((await f.deliver('w')).map(([entryId]) => entryId)).toEqual([t1, o1]);
      await f.redis.hset(f.keys.flow.count, 'job', hostile);
      const codes = await f.complete('w', [
        { entryId: t1, id: 't1', flow: true },
        { entryId: o1, id: 'o1', flow: true },
      ]);
      expect(codes).toEqual(['completed', 'completed']);
      const holds = await f.redis.hgetall(f.keys.flow.tasks);
      expect(Object.keys(holds).sort()).toEqual(['o2', 't2']);
      expect(holds.t2.startsWith('\0')).toBe(false); // admitted, not waiting
      expect(holds.o2.startsWith('\0')).toBe(false);
    },
  );

  it("the task's count at 2^63 - 1: an enqueue admits its task and counts it", async () => {
    await f.redis.hset(f.keys.flow.count, 'job', '9223372036854775807');
    const admitted = await f.enqueueFlow('t1', { global: 0, group: 0, agingMs: 1000 });
    expect(admitted.entryId).toBeDefined();
    expect(await f.redis.hget(f.keys.flow.count, 'job')).toBe('1');
  });
});

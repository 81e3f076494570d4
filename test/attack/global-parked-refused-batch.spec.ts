import { completeFlowRuns } from '../fixtures/counting-scripts';
import { heldTaskIds, waitingTaskIds } from '../fixtures/flow-state';
import { LAST_ENTRY_ID } from '../fixtures/last-entry-id';
import { closeAll } from '../utils/redis';
import { GROUP, ScriptFixture } from '../scripts/script-fixture';

/**
 * A settle batch whose first release met a stream out of ids (flow-admission-stream-out-of-ids.
 * spec.ts) skips every later admission of the call, and a release of a task whose pairs are
 * parked for its global slot (globalUnpark) then served none of them: the slot freed, the pairs
 * left parked. The wake the refusal leaves (RATE_MORE) feeds the ring alone, never a task's
 * parked line, so once the stream took ids again the parked task waited beside its free slot
 * until another run of its task settled, for good if none was left. The spec failed (b1 still
 * waiting, job's global slot free).
 */
describe('attack: a global slot freed in a settle batch after the stream refused', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it("the parked pair is admitted by the refusal's wake once the stream takes ids", async () => {
    const job = { global: 1, group: 0, agingMs: 1000 };
    const other = { global: 0, group: 1, agingMs: 1000 };
    await f.enqueueFlow('a1', job, 'G1');
    await f.enqueueFlow('b1', job, 'G2');
    await f.enqueueFlow('o1', other, '', 'other');
    await f.enqueueFlow('o2', other, '', 'other');
    await f.enqueueFlow('o3', other, '', 'other');
    const first = await f.deliver('a');
    const id = (entry: [string, Record<string, string>]) => [entry[0], entry[1].id] as const;
    expect(first.map(([, fields]) => fields.id)).toEqual(['a1', 'o1']);
    // o1's settle feeds the ring: job/G2 meets job's full global slot and is parked; o2 admitted.
    expect(await completeFlowRuns(f.redis, f.keys, [id(first[1])])).toEqual(['completed']);
    expect((await f.redis.zrange(f.keys.flow.parked, 0, -1)).map((m) => m.split('\0').pop())).toEqual(['G2']);
    const second = await f.deliver('a');
    expect(second.map(([, fields]) => fields.id)).toEqual(['o2']);

    // One batch: o2's release hands over to o3, refused by the stream; a1's frees job's slot.
    await f.redis.xsetid(f.keys.stream, LAST_ENTRY_ID);
    expect(await completeFlowRuns(f.redis, f.keys, [id(second[0]), id(first[0])])).toEqual(['completed', 'completed']);
    expect(await heldTaskIds(f.redis, f.keys)).toEqual([]);

    // The stream made anew; the wakes left behind fall due.
    await f.redis.del(f.keys.stream);
    await f.redis.xgroup('CREATE', f.keys.stream, GROUP, '0', 'MKSTREAM');
    for (const wake of await f.redis.zrange(f.keys.flow.wake, 0, -1))
      await f.redis.zadd(f.keys.flow.wake, 'XX', 0, wake);
    await f.promote();
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual([]);
    expect((await heldTaskIds(f.redis, f.keys)).sort()).toEqual(['b1', 'o3']);
  });
});

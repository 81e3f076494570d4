import { enqueueFlowScript, type FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { closeAll } from '../utils/helpers';
import { ScriptFixture } from '../scripts/script-fixture';
import { heldTaskIds, waitingTaskIds } from '../fixtures/flow-state';

/**
 * Review finding (a helper's attack on b4144ee). A limit change feeds through
 * flowFeedAll(F, stream, 1000, name): globalUnpark serves the task's
 * pairs parked for a global slot, at most 1,000 admissions, then leaves the '\2' wake. That wake
 * is served by flowServeWakes -> flowFeedAll(F, stream, 1000) WITHOUT a name: it passes over the
 * ring only, never over F.parked. With globalConcurrency lifted (0), no release takes
 * flowRelease's globalUnpark branch (globalLimit > 0) either, and an enqueue into a parked group
 * only SADDs ringed (already there). The pairs parked past the budget waited forever with free
 * slots. Now a feed of a task stopped on its budget leaves a wake naming the task ('\3<name>'),
 * and the promotion that serves it goes on with the task's parked pairs.
 */
describe('attack: a lifted globalConcurrency strands the pairs parked past the feed budget', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const globalOne: FlowLimits = { global: 1, group: 0, agingMs: 1000 };
  const lifted: FlowLimits = { global: 0, group: 0, agingMs: 1000 };
  const none: FlowLimits = { global: 0, group: 0, agingMs: 1000 };
  const enqueue = (id: string, name: string, group: string, limits: FlowLimits) =>
    enqueueFlowScript(f.keys, { id, name, payload: '{}', delayMs: 0, runAt: 0, group, limits })
      .run(f.redis)
      .then((reply) => reply as { id: string; entryId?: string });

  it('every waiting task is admitted once the limit is lifted and the promotions have run', async () => {
    const first = await enqueue('run', 'job', 'g0', globalOne);
    expect(first.entryId).toBeDefined();
    const PAIRS = 1_001;
    for (let i = 1; i <= PAIRS; i++) await enqueue(`w${i}`, 'job', `g${i}`, globalOne);
    // A settle of another task feeds over the ring: every job pair meets the full global slot and parks.
    const other = await enqueue('o', 'other', '', none);
    await f.deliver('a', 10_000);
    expect(await f.complete('a', [{ entryId: other.entryId!, id: 'o', flow: true }])).toEqual(['completed']);
    expect(await f.redis.llen(f.keys.flow.ring)).toBe(0);
    expect(await f.redis.zcard(f.keys.flow.parked)).toBe(PAIRS);

    // A new definition lifts globalConcurrency: its enqueue feeds 1,000, leaves the '\2' wake.
    await enqueue('lift', 'job', 'z', lifted);
    for (let i = 0; i < 3; i++) await f.promote();
    // Every run settles; then more enqueues of the task, into other groups and into the parked one.
    for (const [entryId, fields] of await f.deliver('a', 10_000))
      await f.complete('a', [{ entryId, id: fields.id, flow: true }]);
    await f.complete('a', [{ entryId: first.entryId!, id: 'run', flow: true }]);
    await enqueue('late', 'job', 'y', lifted);
    await enqueue('late-parked', 'job', `g${PAIRS}`, lifted); // into the stranded group: it waits with it
    for (let i = 0; i < 3; i++) await f.promote();

    const waiting = await waitingTaskIds(f.redis, f.keys);
    const parked = await f.redis.zrange(f.keys.flow.parked, 0, -1);
    // No limit binds: nothing should wait.
    expect({ waiting, parked: parked.length, held: (await heldTaskIds(f.redis, f.keys)).length }).toEqual({
      waiting: [],
      parked: 0,
      held: 2, // 'late', 'late-parked'
    });
  }, 60_000);
});

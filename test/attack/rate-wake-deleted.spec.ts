import type { FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { closeAll, sleep } from '../utils/helpers';
import { ScriptFixture } from '../scripts/script-fixture';

/**
 * Attack on the wake set (F.wake): anyone with Redis access can delete it, or the member of a
 * task (an operator's cleanup of what looks like a stale key). Pairs parked for their task's
 * rateLimit window wait for that wake alone: they stay in F.ringed, so neither an enqueue nor a
 * settle of their group pushes them back into the ring. Without it, a task without groups (one
 * pair) had every task waiting for good, those enqueued since included, however long ago the
 * window had freed. The next enqueue of the task that waits now sets the wake due when pairs of
 * it are parked with none.
 */
describe('attack: the rate wake of parked pairs deleted', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits: FlowLimits = { global: 0, group: 0, agingMs: 1000, rate: { max: 1, perMs: 100 } };

  it('the next enqueue of the task brings it back, and the parked tasks are admitted in order', async () => {
    const first = await f.enqueueFlow('t1', limits);
    await f.deliver('w');
    await f.claimRated('w', first.entryId!, first.id, limits);
    expect((await f.enqueueFlow('t2', limits)).entryId).toBeUndefined(); // parked for the window
    await f.redis.del(f.keys.flow.wake);
    await sleep(300); // the window has freed
    await f.complete('w', [{ entryId: first.entryId!, id: first.id, flow: true }]);
    expect((await f.enqueueFlow('t3', limits)).entryId).toBeUndefined(); // queues behind t2
    await f.promote();
    expect((await f.deliver('w')).map(([, fields]) => fields.id)).toEqual(['t2']);
  });
});

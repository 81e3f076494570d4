import type { FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { closeAll, sleep } from '../utils/helpers';
import { ScriptFixture } from '../scripts/script-fixture';

/**
 * Attack on a task's rate wake (F.wake member '<name>', the time its parked pairs go back to the
 * ring): anyone who can write to Redis can set its score to inf (or any far time). No script
 * moved it back: a newcomer parks behind it (rateQueuedAt), and a settle feeds only the ring, so
 * the parked tasks waited for good although the window had long freed, through settles, new
 * enqueues and promotions. No script sets a wake later than perMs + 60 s from now: the next
 * enqueue (or feed) that reads a later one now brings it to now.
 */
describe('attack: a rate wake set to inf', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it('the next enqueue of the task brings it back, and the parked task is admitted', async () => {
    const limits: FlowLimits = { global: 0, group: 0, agingMs: 1000, rate: { max: 1, perMs: 100 } };
    const first = await f.enqueueFlow('t1', limits);
    await f.deliver('w');
    await f.claimRated('w', first.entryId!, first.id, limits);
    expect((await f.enqueueFlow('t2', limits)).entryId).toBeUndefined(); // parked for the window
    await f.redis.zadd(f.keys.flow.wake, 'inf', 'job');
    await sleep(300); // the window has freed
    await f.complete('w', [{ entryId: first.entryId!, id: first.id, flow: true }]);
    expect((await f.enqueueFlow('t3', limits)).entryId).toBeUndefined(); // queues behind t2
    await f.promote();
    expect((await f.deliver('w')).map(([, fields]) => fields.id)).toEqual(['t2']);
  });
});

import { enqueueFlowScript, type FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { closeAll, sleep } from '../utils/helpers';
import { ScriptFixture } from '../scripts/script-fixture';

/**
 * Attack on the aging recorded in F.limits ('<global> <group> <aging ms> ...'): anyone who can
 * write to Redis can record one with more digits than any enqueue writes (priorityAgingMs is at
 * most 86,400,000). A task seated in the room under the recorded limits (a promotion of a due
 * flow task) was ranked now + (priority - 1) * aging, written with %016d: past 16 digits (or
 * past 64 bits, negative) the rank took more characters than the 32 the room's readers cut at,
 * so its admission read a task id that is not its own: the task ran as '001\0t2', and 't2' stayed
 * a waiting task for good (its handle never saw it end).
 */
describe('attack: an overlong aging recorded in F.limits', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it('a promoted task is ranked within 16 digits: it runs as itself, and its settle ends it', async () => {
    const limits: FlowLimits = { global: 1, group: 0, agingMs: 1000 };
    const first = await f.enqueueFlow('t1', limits);
    await enqueueFlowScript(f.keys, { id: 't2', name: 'job', payload: '{}', delayMs: 1, runAt: 0, limits }).run(
      f.redis,
    );
    await f.redis.hset(f.keys.flow.limits, 'job', '1 0 99999999999999999999 0 0 0 0');
    await sleep(5);
    await f.promote(); // t2 waits in the room for the global slot
    await f.deliver('w');
    await f.complete('w', [{ entryId: first.entryId!, id: first.id, flow: true }]);
    const [[entryId, fields]] = await f.deliver('w');
    expect(fields.id).toBe('t2');
    await f.complete('w', [{ entryId, id: 't2', flow: true }]);
    expect(await f.redis.hgetall(f.keys.flow.tasks)).toEqual({});
    expect(Number(await f.redis.hget(f.keys.flow.count, 'job'))).toBe(0); // no slot held
  });
});

import { enqueueFlowScript, type FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { closeAll, sleep } from '../utils/helpers';
import { ScriptFixture } from '../scripts/script-fixture';

/**
 * Attack on the two sequences F.limits holds ('\0parked', the order pairs were parked in;
 * '\0arrivals', the room's arrival order): anyone who can write to Redis can set them to a value
 * HINCRBY refuses ('x'), or to one that reaches 17 digits at its next increment. The first made
 * the script that parks a pair or seats a task in the room fail: a settle whose feed met a full
 * rate window, after its ack; a promotion, after it had taken the due retry out of the delayed
 * set (the task was lost). The second wrote a member one digit longer than the 16 its readers
 * cut at: the pair read back from F.parked named another task, so the parked one was never
 * served again.
 */
describe('attack: hostile sequence numbers in F.limits', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const claim = (entryId: string, taskId: string, ownLimits: FlowLimits) =>
    f.claimRated('w', entryId, taskId, ownLimits);

  it("'\\0parked' not an integer: the settle that parks a pair for a full window succeeds", async () => {
    const limits: FlowLimits = { global: 1, group: 0, agingMs: 1000, rate: { max: 1, perMs: 60_000 } };
    const first = await f.enqueueFlow('t1', limits);
    expect((await f.enqueueFlow('t2', limits)).entryId).toBeUndefined(); // waits for the global slot
    await f.deliver('w');
    expect((await claim(first.entryId!, first.id, limits))[0].verdict).toBe('run');
    await f.redis.hset(f.keys.flow.limits, '\0parked', 'x');
    await f.complete('w', [{ entryId: first.entryId!, id: first.id, flow: true }]);
    expect(await f.redis.zcard(f.keys.flow.parked)).toBe(1); // t2's pair, parked for the window
    expect(await f.redis.hkeys(f.keys.flow.tasks)).toEqual(['t2']);
  });

  it("'\\0parked' at 16 digits: the pair parked next is served when its wake falls due", async () => {
    const limits: FlowLimits = { global: 0, group: 0, agingMs: 1000, rate: { max: 1, perMs: 60_000 } };
    await f.enqueueFlow('t1', limits);
    await f.redis.hset(f.keys.flow.limits, '\0parked', '9999999999999999');
    expect((await f.enqueueFlow('t2', limits)).entryId).toBeUndefined(); // parked for the window
    await f.redis.del(f.keys.flow.starts); // t1's token goes
    await f.redis.zadd(f.keys.flow.wake, 0, 'job');
    await f.promote();
    expect((await f.deliver('w')).map(([, fields]) => fields.id)).toEqual(['t1', 't2']);
  });

  it("'\\0arrivals' not an integer: a due flow task is seated in the room, not lost", async () => {
    const limits: FlowLimits = { global: 1, group: 0, agingMs: 1000 };
    await f.enqueueFlow('t1', limits);
    await enqueueFlowScript(f.keys, { id: 't2', name: 'job', payload: '{}', delayMs: 1, runAt: 0, limits }).run(
      f.redis,
    );
    await f.redis.hset(f.keys.flow.limits, '\0arrivals', 'x');
    await sleep(5);
    await f.promote();
    expect(await f.redis.zcard(f.keys.flow.room)).toBe(1);
  });
});

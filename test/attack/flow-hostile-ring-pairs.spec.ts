import type { FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { closeAll } from '../utils/helpers';
import { ScriptFixture } from '../scripts/script-fixture';

/**
 * Attack on the pairs the feeds serve: anyone who can write to Redis can push a pair with no NUL
 * into F.ring ('x'), or park one for a rate window in F.parked ('job\0x', which rateUnpark cut
 * into 'job'). servePair split it with splitPair, which failed on it ('arithmetic on a nil
 * value'): the promotion serving the wake failed, and so did the settle whose feed popped it,
 * after its XACK and XDEL, with the rest of its batch's runs left holding their slots for good.
 */
describe('attack: a pair with no NUL in the ring or parked for a rate window', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it('the settle whose feed pops it releases its runs and admits the waiting task', async () => {
    const limits: FlowLimits = { global: 2, group: 0, agingMs: 1000 };
    const [a, b] = [await f.enqueueFlow('t1', limits), await f.enqueueFlow('t2', limits)];
    expect((await f.enqueueFlow('t3', limits)).entryId).toBeUndefined(); // waits for a global slot
    await f.deliver('w');
    await f.redis.lpush(f.keys.flow.ring, 'x');
    await f.complete('w', [
      { entryId: a.entryId!, id: a.id, flow: true },
      { entryId: b.entryId!, id: b.id, flow: true },
    ]);
    expect(await f.redis.hkeys(f.keys.flow.tasks)).toEqual(['t3']);
    expect((await f.deliver('w')).map(([, fields]) => fields.id)).toEqual(['t3']);
  });

  it('the promotion that unparks it serves the pairs parked with it', async () => {
    const limits: FlowLimits = { global: 0, group: 0, agingMs: 1000, rate: { max: 1, perMs: 60_000 } };
    await f.enqueueFlow('t1', limits);
    expect((await f.enqueueFlow('t2', limits)).entryId).toBeUndefined(); // parked for the window
    await f.redis.zadd(f.keys.flow.parked, 0, 'job\0x');
    // The window frees (t1's token goes) and its wake falls due.
    await f.redis.del(f.keys.flow.starts);
    await f.redis.zadd(f.keys.flow.wake, 0, 'job');
    await f.promote();
    expect((await f.deliver('w')).map(([, fields]) => fields.id)).toEqual(['t1', 't2']);
  });
});

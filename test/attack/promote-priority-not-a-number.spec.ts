import { FleetReads } from '../../lib/client/fleet-reads';
import { enqueueFlowScript } from '../../lib/scripts/enqueue-flow.script';
import { ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';
import { heldTaskIds } from '../fixtures/flow-state';

/**
 * A room member is '<name>\0<group>\0<rank, 32 digits>\0<task id>\0<fields>', and both readers
 * find the task id 33 bytes past the group (admitMember, roomMemberId). promote.lua took a flow
 * member's priority with tonumber and checked it was from 1 to 10, but Lua's tonumber reads 'nan'
 * as NaN, which no comparison refuses: a hand-written delayed member with pr 'nan' (anyone can
 * ZADD one) was ranked NaN, written '-9223372036854775808', 20 characters. It sorted ahead of
 * every task of its pair, and its admission cut a wrong task id from the member: the hold was
 * recorded under '1\0x' or so, the settle of the run (id 'x') released nothing, and the task's
 * one slot was held for good (every later task of it waited for ever). The listing read the same
 * wrong id. Now a priority is an integer from 1 to 10 or 5 (flowPriority, in the room's include),
 * in every script that takes one.
 */
describe('attack: a delayed flow member with priority nan', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = { global: 1, group: 0, agingMs: 1000 };

  it.each(['nan', '-nan', 'inf', '1e400', '2.5'])(
    'pr %j: ranked as priority 5, listed by its id, and every run gives its slot back',
    async (pr) => {
      const a = await f.enqueueFlow('a', limits);
      await f.deliver('a'); // 'a' holds job's one slot
      await f.enqueueFlow('b', limits); // waits first
      // Due now on Redis's clock, after b entered: a delayed task is ranked from when it fell due.
      const [seconds, micros] = await f.redis.time();
      const dueAt = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      await f.redis.zadd(f.keys.delayed, dueAt, JSON.stringify({ id: 'x', n: 'job', p: '{}', a: '1', fl: '1', pr }));
      await f.promote(); // x waits behind b

      const page = await new FleetReads(f.redis, () => [f.keys], 60_000).list('queued', { queue: 'q' });
      expect(await f.complete('a', [{ entryId: a.entryId!, id: 'a', flow: true }])).toEqual(['completed']);
      const ran = await f.runAdmitted('a');

      expect({
        listed: page.tasks.map((t) => t.id),
        ran,
        held: await heldTaskIds(f.redis, f.keys),
        count: await f.redis.hgetall(f.keys.flow.count),
      }).toEqual({ listed: ['b', 'x'], ran: ['b', 'x'], held: [], count: {} });
    },
  );

  it('enqueue-flow.lua sent priority NaN ranks it 5 too', async () => {
    await f.enqueueFlow('a', limits);
    await f.deliver('a');
    await f.enqueueFlow('b', limits);
    await enqueueFlowScript(f.keys, {
      id: 'x',
      name: 'job',
      payload: '{}',
      delayMs: 0,
      runAt: 0,
      priority: NaN,
      limits,
    }).run(f.redis);
    const page = await new FleetReads(f.redis, () => [f.keys], 60_000).list('queued', { queue: 'q' });
    expect(page.tasks.map((t) => t.id)).toEqual(['b', 'x']);
  });
});

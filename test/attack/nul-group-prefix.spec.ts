import { redriveScript } from '../../lib/scripts/redrive.script';
import { closeAll } from '../utils/helpers';
import { ScriptFixture } from '../scripts/script-fixture';
import { heldTaskIds } from '../fixtures/flow-state';

/**
 * Review finding (a helper's attack on b4144ee). A pair's waiting members are found by the prefix '<name>\0<group>\0' (bestOf, pairWaits,
 * ringWaitingPairs' skip). A group may hold a NUL (a foreign entry with fl and gr, dead-lettered,
 * redriven: room-member-nul.spec.ts), and then group 'x\0!' members carry group 'x''s prefix and
 * sort before its own ('!' < the rank's digits). Serving pair job\0x admits the 'x\0!' member as
 * group x's, cut at x's length: the hold is recorded under a garbled id ('<digit>\0h'), so the
 * settle of the entry (its fields say id 'h') released nothing: job's slot leaked for good and
 * every later job task waited forever. Now flowEnter makes a NUL in a name or group \1.
 */
describe('attack: a group holding a NUL shares another group’s room prefix', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = { global: 1, group: 0, agingMs: 1000 };

  it('the settle of every admitted run gives its slot back', async () => {
    const a = await f.enqueueFlow('a', limits, 'x');
    await f.deliver('a');
    const deadLetterId = await f.deadLetteredForeignFlowEntry('h', 'x\0!');
    await f.enqueueFlow('b', limits, 'x'); // waits: a holds the global slot; job\0x rung first
    expect(await redriveScript(f.keys, { deadLetterId, taskId: 'h', key: undefined }).run(f.redis)).toMatchObject({
      outcome: 'redriven',
      entryId: '',
    });
    expect(await f.complete('a', [{ entryId: a.entryId!, id: 'a', flow: true }])).toEqual(['completed']);
    const ran = await f.runAdmitted('a');
    // Both waiting tasks ran and settled: no slot may still be held.
    expect({
      ran: ran.sort(),
      held: await heldTaskIds(f.redis, f.keys),
      count: await f.redis.hgetall(f.keys.flow.count),
    }).toEqual({
      ran: ['b', 'h'],
      held: [],
      count: {},
    });
  });
});

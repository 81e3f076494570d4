import { ScriptCall } from '../../lib/redis/scripts';
import { ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';
import { waitingTaskIds } from '../fixtures/flow-state';

/**
 * promote is read in TypeScript (which key states and whether the flow keys to declare, with
 * JSON.parse) and moved in Lua (cjson). cjson takes text JSON.parse refuses: a raw control
 * character inside a string, a hex number, nan. A hand-written delayed flow member like that
 * ({"id":"x","n":"job",…,"fl":"1","t":"a<TAB>b"}) was read by TypeScript as no flow member, so
 * the flow keys were not declared, and promote.lua, reading field fl, called flowEnter without
 * them: the script failed ("attempt to index local 'F'") after removing the member from the
 * delayed set, so the task was lost without a trace (no dead letter, no entry, no wait) and the
 * rest of the batch was not moved. Now a member JSON.parse refuses declares the flow keys (it may
 * be one), and promote.lua dead-letters a flow member it finds without them rather than fail.
 */
describe('attack: a delayed flow member that cjson reads and JSON.parse does not', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = { global: 1, group: 0, agingMs: 1000 };

  it.each([
    ['a raw TAB in a string', '{"id":"x","n":"job","p":"{}","a":"1","fl":"1","t":"a\tb"}'],
    ['a hex number', '{"id":"x","n":"job","p":"{}","a":"1","fl":"1","z":0x10}'],
    ['nan', '{"id":"x","n":"job","p":"{}","a":"1","fl":"1","z":nan}'],
  ])('with %s goes through admission, and the batch moves', async (_, member) => {
    await f.enqueueFlow('a', limits);
    await f.deliver('a'); // 'a' holds job's one slot: x waits in the room
    await f.redis.zadd(f.keys.delayed, 0, member);
    await f.redis.zadd(f.keys.delayed, 1, '{"id":"plain","n":"other","p":"{}","a":"1"}'); // due after it

    const promoted = await f.promote().catch((e: unknown) => String(e));

    expect({
      promoted,
      delayed: await f.redis.zcard(f.keys.delayed),
      waiting: await waitingTaskIds(f.redis, f.keys),
      stream: (await f.redis.xrange(f.keys.stream, '-', '+')).map(([, fields]) => fields[1]),
    }).toEqual({ promoted: { moved: 2, nextDueInMs: -1 }, delayed: 0, waiting: ['x'], stream: ['a', 'plain'] });
  });

  it('a flow member sent without the flow keys (a caller that read it otherwise) is dead-lettered, not lost', async () => {
    const member = '{"id":"x","n":"job","p":"{}","a":"1","fl":"1"}';
    await f.redis.zadd(f.keys.delayed, 0, member);
    await f.redis.zadd(f.keys.delayed, 1, '{"id":"plain","n":"other","p":"{}","a":"1"}');
    const members = await f.redis.zrange(f.keys.delayed, 0, -1);
    const args = [100, 100, 60_000, f.keys.doneChannel, ...members.flatMap((m) => [m, '', ''])];
    const keys = [f.keys.delayed, f.keys.stream, f.keys.deadLetter, f.keys.strandedCancels];
    const call = new ScriptCall('promote', keys, args, (r) => r);

    const promoted = await call.run(f.redis).catch((e: unknown) => String(e));

    expect({
      promoted,
      delayed: await f.redis.zcard(f.keys.delayed),
      stream: (await f.redis.xrange(f.keys.stream, '-', '+')).map(([, fields]) => fields[1]),
      letters: (await f.redis.xrange(f.keys.deadLetter, '-', '+')).map(([, fields]) => fields),
    }).toEqual({
      promoted: [1, -1],
      delayed: 0,
      stream: ['plain'],
      letters: [['raw', member, 'reason', 'delayed member does not decode']],
    });
  });
});

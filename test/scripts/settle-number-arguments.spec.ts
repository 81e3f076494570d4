import type { Redis } from 'ioredis';
import { defineScripts } from '../../lib/redis/scripts';
import { enqueueFlowScript, type FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { closeAll } from '../utils/helpers';
import { createRedis } from '../utils/redis';
import { heldTaskIds, waitingTaskIds } from '../fixtures/flow-state';
import { LEASE_MS, ScriptFixture } from './script-fixture';

/**
 * A test double of includes/rcall.lua that fails a command given a Lua number: Redis 7.0 turns
 * each into text with a `%.17g` snprintf, about 2,000 instructions, where a string literal costs
 * nothing (bench:settle: the limit shape's settle went from 93,000 to 88,000 instructions per task
 * when its two per-run numbers became text).
 */
const TEXT_ONLY_RCALL = `
local function rcall(command, ...)
  for i = 1, select('#', ...) do
    if type((select(i, ...))) == 'number' then
      error('Lua number as argument ' .. i .. ' of ' .. command .. ': pass it as text')
    end
  end
  return redis.call(command, ...)
end
`;

/**
 * The settle of a flow batch runs once per completed task of every limited queue: its commands
 * take their numbers as text. Each case drives one of its paths (a release with an empty room, a
 * handover to the pair's next task, a pair parked for a global slot, a rated pair fed from the
 * ring) through complete.lua registered with the double above.
 */
describe('a flow settle passes its numbers to Redis as text', () => {
  let f: ScriptFixture;
  let checked: Redis;
  beforeEach(async () => {
    f = await new ScriptFixture().setUp();
    checked = createRedis();
    defineScripts(checked, { replace: { rcall: TEXT_ONLY_RCALL } });
  });
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const enqueue = (id: string, name: string, limits: FlowLimits, group?: string) =>
    enqueueFlowScript(f.keys, { id, name, payload: '{}', delayMs: 0, runAt: 0, group, limits }).run(f.redis);

  /** Reads every admitted entry and settles those of `ids` through the checked complete.lua. */
  async function settle(ids: string[]): Promise<string[]> {
    const runs = (await f.deliver('w')).filter(([, fields]) => ids.includes(fields.id));
    const settled = runs.map(([entryId, fields]) => ({ entryId, id: fields.id, result: '', flow: true }));
    return f.complete('w', settled, LEASE_MS, checked);
  }

  it('a release under a limit that does not bind (the room empty)', async () => {
    const wide: FlowLimits = { global: 10, group: 0, agingMs: 1000 };
    await enqueue('a1', 'A', wide);
    await enqueue('a2', 'A', wide, 'g');
    expect(await settle(['a1', 'a2'])).toEqual(['completed', 'completed']);
    expect(await heldTaskIds(f.redis, f.keys)).toEqual([]);
  });

  it("releases that hand their group's slot to the pair's next task", async () => {
    const single: FlowLimits = { global: 0, group: 1, agingMs: 1000 };
    await enqueue('g1', 'G', single, 'x');
    await enqueue('g2', 'G', single, 'x'); // waits behind g1
    await enqueue('h1', 'G', single, 'y');
    await enqueue('h2', 'G', single, 'y'); // waits behind h1
    await enqueue('h3', 'G', single, 'y'); // waits behind h2: y's pair stays in the ring
    expect(await settle(['g1', 'h1'])).toEqual(['completed', 'completed']);
    expect(await heldTaskIds(f.redis, f.keys)).toEqual(['g2', 'h2']);
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual(['h3']);
  });

  it('a release that frees a global slot for a parked pair', async () => {
    const one: FlowLimits = { global: 1, group: 0, agingMs: 1000 };
    await enqueue('p1', 'P', one, 'x');
    await enqueue('p2', 'P', one, 'y'); // waits for P's one slot
    await enqueue('p3', 'P', one, 'z');
    expect(await settle(['p1'])).toEqual(['completed']);
    expect(await heldTaskIds(f.redis, f.keys)).toEqual(['p2']);
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual(['p3']);
  });

  it('a release of a rated task, whose pair is fed from the ring and takes a token', async () => {
    const rated: FlowLimits = { global: 0, group: 1, agingMs: 1000, rate: { max: 10, perMs: 60_000 } };
    await enqueue('r1', 'R', rated, 'x');
    await enqueue('r2', 'R', rated, 'x'); // waits for x's slot
    expect(await settle(['r1'])).toEqual(['completed']);
    expect(await heldTaskIds(f.redis, f.keys)).toEqual(['r2']);
  });
});

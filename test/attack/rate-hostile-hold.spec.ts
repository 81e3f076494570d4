import { claimScript } from '../../lib/scripts/claim.script';
import type { FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { closeAll } from '../utils/helpers';
import { GROUP, LEASE_MS, ScriptFixture } from '../scripts/script-fixture';

/**
 * Attack on an admitted task's hold in F.tasks ('<entry id>\0<name>\0<group>'): anyone who can
 * write to Redis can drop its group part ('<entry id>\0job'). The claim of a rated run split it
 * with splitPair, which failed on it: the whole claim batch failed (every run read with it was
 * dropped, to be reclaimed and fail again), and so did the settle or dead letter that released
 * it. Such a hold now counts as none, as a hold of another entry does.
 */
describe('attack: a hold in F.tasks with no group part', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits: FlowLimits = { global: 0, group: 0, agingMs: 1000, rate: { max: 10, perMs: 60_000 } };

  it('the claim of its batch runs, and its settle releases the others', async () => {
    const [a, b] = [await f.enqueueFlow('t1', limits), await f.enqueueFlow('t2', limits)];
    await f.deliver('w');
    await f.redis.hset(f.keys.flow.tasks, 't2', `${b.entryId}\0job`);
    const verdicts = await claimScript(f.keys, {
      group: GROUP,
      consumer: 'w',
      deferMs: 50,
      stateTtlMs: LEASE_MS,
      messages: [a, b].map((t) => ({
        entryId: t.entryId!,
        taskId: t.id,
        generation: 0,
        key: undefined,
        rated: true,
        ownLimits: limits,
      })),
    }).run(f.redis);
    expect(verdicts.map((v) => v.verdict)).toEqual(['run', 'run']);
    await f.complete('w', [
      { entryId: b.entryId!, id: b.id, flow: true },
      { entryId: a.entryId!, id: a.id, flow: true },
    ]);
    // t1's hold is released; t2's names no pair to release, and stays (as a hostile copy would).
    expect(await f.redis.hkeys(f.keys.flow.tasks)).toEqual(['t2']);
  });
});

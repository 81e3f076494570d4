import { FleetReads } from '../../lib/client/fleet-reads';
import { enterAdmissionScript } from '../../lib/scripts/enter-admission.script';
import { ScriptFixture, GROUP } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';

/**
 * enter-admission.lua moves a plain entry of a limited task into admission in the ungrouped group
 * at priority 5, "as an enqueue without options", but kept the entry's own fields gr and pr in
 * the task it moved. A plain entry {id x, n job, gr G, pr 1} (an enqueue with a group goes through
 * enqueue-flow.lua, so only a hand-written entry has them) waited in the ungrouped line at
 * priority 5, while the queued listing showed it in group G at priority 1 between ungrouped
 * tasks; once admitted, its entry named group G, so the worker took it for one of G's runs and its
 * retry went through admission in G's line: the task changed group between two attempts, and
 * took a turn in a group whose limit its first run was not counted in. The moved task now keeps
 * neither field: it is what it waits as.
 */
describe('attack: a plain entry with fields gr and pr moved into admission', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = { global: 1, group: 0, agingMs: 1000 };

  it('waits and runs as an ungrouped task of priority 5, as listed', async () => {
    const a = await f.enqueueFlow('a', limits);
    await f.deliver('a'); // 'a' holds job's one slot: x waits in the room
    const entryId = (await f.redis.xadd(f.keys.stream, '*', 'id', 'x', 'n', 'job', 'p', '{}', 'gr', 'G', 'pr', '1'))!;
    await f.deliver('b');
    const moved = await enterAdmissionScript(f.keys, { group: GROUP, consumer: 'b', entryId, taskId: 'x', limits }).run(
      f.redis,
    );
    expect(moved).toEqual({ outcome: 'moved', entryId: '' });

    const page = await new FleetReads(f.redis, () => [f.keys], 60_000).list('queued', { queue: 'q' });
    await f.complete('a', [{ entryId: a.entryId!, id: 'a', flow: true }]);
    const [[, admitted]] = await f.deliver('c');

    expect({
      listed: page.tasks.map((t) => ({ id: t.id, group: t.group, priority: t.priority })),
      admitted: { id: admitted.id, gr: admitted.gr, pr: admitted.pr },
    }).toEqual({
      listed: [{ id: 'x', group: undefined, priority: undefined }],
      admitted: { id: 'x', gr: undefined, pr: undefined },
    });
  });
});

import { randomUUID } from 'node:crypto';
import { startApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { waitFor } from '../utils/helpers';
import { FlowTasksModule, ledger } from './flow-tasks';

/**
 * A flow task's entry with more than 64 field pairs (a producer of its own that adds fields:
 * anyone can XADD) is malformed to the worker, which dead-letters it. Its dead letter kept only
 * id, n, p, a, k, g, d and r, so its redrive ran the task ungrouped, at priority 5, out of its
 * trace: it must keep fl, gr, pr and t too (includes/dead-letter-entry.lua).
 */
describe('a flow task whose entry has more than 64 field pairs, dead-lettered and redriven', () => {
  const env = useProbeApps();
  beforeEach(() => ledger.reset());

  it('is listed dead in its group at its priority, and redriven into them', async () => {
    const a = await startApp({ prefix: env.prefix, imports: [FlowTasksModule] });
    // An enqueue under flow control records the task's limits, as a producer with its @Task does.
    await (await a.client.enqueue('flow.group', { group: 'G' }, { group: 'G', priority: 3 })).result();
    const id = randomUUID();
    const extra = Array.from({ length: 70 }, (_, i) => [`x${i}`, 'v']).flat();
    const task = ['id', id, 'n', 'flow.group', 'p', '{"group":"G"}', 'a', '1', 'fl', '1', 'gr', 'G', 'pr', '3'];
    await env.redis.xadd(a.keys.stream, '*', ...task, 't', '{}', ...extra);
    const dead = await waitFor(async () => (await a.client.list('dead')).tasks.find((t) => t.id === id), {
      description: 'the wide entry dead-lettered',
    });
    expect(dead.reason).toMatch(/more than 64 name\/value pairs/);
    await a.client.pause('default'); // the redriven run waits until the read below
    await a.client.redrive(dead.deadLetterId!);
    const queued = (await a.client.list('queued')).tasks.find((t) => t.id === id);
    expect({ group: queued?.group, priority: queued?.priority }).toEqual({ group: 'G', priority: 3 });
    expect({ group: dead.group, priority: dead.priority }).toEqual({ group: 'G', priority: 3 });
    await a.client.resume('default');
    await waitFor(() => ledger.done.includes(id), { description: 'the redriven run done' });
  });
});

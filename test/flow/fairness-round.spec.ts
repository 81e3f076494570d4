import { startApp, type TestApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { waitFor } from '../utils/helpers';
import { FlowTasksModule, ledger } from './flow-tasks';

/**
 * The README's fairness bound, attacked with retries and with groups that become active after
 * the waiting task: under globalConcurrency 1, a task of group B waits for at most one run of
 * each group active when it came, and for none of a group that came after it, even when every
 * run of those groups fails and its retry comes back through admission meanwhile.
 */
describe('flow control: one round over the active groups, through retries and late groups', () => {
  const env = useProbeApps();
  beforeEach(() => ledger.reset());
  const app = (): Promise<TestApp> =>
    startApp({ prefix: env.prefix, imports: [FlowTasksModule], options: { concurrency: 20 } });

  it('B starts after one run of A and one of C; D and E, active after B, start after it', async () => {
    const a = await app();
    const enqueue = (group: string) => a.client.enqueue('flow.retry', { group }, { group });
    const blocker = await a.client.enqueue('flow.retry', { block: true, group: 'X' }, { group: 'X' });
    await waitFor(() => ledger.starts.length === 1);
    const handles = [];
    // Each run of 'flow.retry' fails its first attempt: its retry, due 10 ms later, goes back
    // through admission while B waits.
    for (let i = 0; i < 5; i++) handles.push(await enqueue('A'), await enqueue('C'));
    handles.push(await enqueue('B'));
    for (let i = 0; i < 5; i++) handles.push(await enqueue('D'), await enqueue('E'));
    ledger.gate.open();
    await Promise.all([blocker, ...handles].map((h) => h.result({ timeoutMs: 20_000 })));
    const groups = ledger.starts.slice(1).map((s) => s.group);
    const beforeB = groups.slice(0, groups.indexOf('B'));
    expect(beforeB).toEqual(['A', 'C']);
    expect(ledger.most.get('flow.retry')).toBe(1);
  }, 30_000);
});

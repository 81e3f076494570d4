import { TaskFailedError } from '../../lib';
import { startApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { waitFor } from '../utils/helpers';
import { FlowTasksModule, ledger } from './flow-tasks';

/**
 * A control from the review of the packed entries and of waitsForSlot (it held): a task whose
 * enqueue left it waiting is admitted packed, fails for good and is redriven. Its dead letter
 * keeps its payload, group and priority; its handle, rebuilt from toJSON(), reads failed, then
 * pending from the redrive on (it keeps no void result: the redrive's pending marker says it),
 * then completed.
 */
describe('a task that waited for a slot, dead-lettered and redriven', () => {
  const env = useProbeApps();
  beforeEach(() => ledger.reset());

  it('reads failed, pending once redriven, then completed; its dead letter keeps its fields', async () => {
    const a = await startApp({ prefix: env.prefix, imports: [FlowTasksModule] });
    const blocker = await a.client.enqueue('flow.flaky', { block: true }, { group: 'G', priority: 3 });
    await waitFor(() => ledger.starts.length === 1);
    const waited = await a.client.enqueue('flow.flaky', { fail: true }, { group: 'G', priority: 3 });
    const rebuilt = a.client.handle(waited.id, JSON.parse(JSON.stringify(waited.toJSON())));
    ledger.failing = true;
    ledger.gate.open();
    await blocker.result({ timeoutMs: 10_000 });
    await expect(rebuilt.result({ timeoutMs: 10_000 })).rejects.toBeInstanceOf(TaskFailedError);
    expect((await rebuilt.status())?.state).toBe('failed');
    const [dead] = (await a.client.list('dead')).tasks;
    expect(dead).toMatchObject({ id: waited.id, payload: '{"fail":true}', group: 'G', priority: 3 });
    ledger.failing = false;
    await a.client.pause('default'); // the redriven run waits until the read below
    await a.client.redrive(dead.deadLetterId!);
    expect((await rebuilt.status())?.state).toBe('pending');
    await a.client.resume('default');
    await expect(rebuilt.result({ timeoutMs: 10_000 })).resolves.toBeUndefined();
    expect(ledger.starts.map((s) => s.attempt)).toEqual([1, 1, 1]);
    expect((await waited.status())?.state).toBe('completed');
  });
});

import { startApp, type TestApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { sleep, waitFor } from '../utils/helpers';
import { FlowTasksModule, ledger } from './flow-tasks';

/**
 * A delayed task (a delayed enqueue, or a retry after its backoff) joins the waiting room's line
 * when it falls due: it is ranked from its due time, not from when a worker's promotion got to
 * it. With no worker running for a while, a promotion comes late, and the task must not fall
 * behind the tasks enqueued after it was due.
 */
describe('flow control: a delayed task promoted late is ranked from its due time', () => {
  const env = useProbeApps();
  beforeEach(() => ledger.reset());
  const app = (options = {}): Promise<TestApp> =>
    startApp({
      prefix: env.prefix,
      imports: [FlowTasksModule],
      options: { concurrency: 20, priorityAgingMs: 100, ...options },
    });

  it('due at t, promoted 550 ms later, it starts ahead of a less urgent task enqueued at t + 250', async () => {
    const producer = await app({ worker: false });
    const blocker = await producer.client.enqueue('flow.one', { block: true });
    // Priority 5, due at t: rank t + 400.
    const delayed = await producer.client.enqueue('flow.one', { w: 'due first' }, { delayMs: 50 });
    await sleep(300);
    // Priority 6, enqueued at about t + 250: rank about t + 750, behind the delayed one.
    const later = await producer.client.enqueue('flow.one', { w: 'priority 6, after' }, { priority: 6 });
    await sleep(300);
    // The first worker: it runs the blocker and promotes the delayed task, long due.
    await app();
    await waitFor(async () => (await producer.client.counts()).waitingForSlot === 2);
    ledger.gate.open();
    await Promise.all([blocker, delayed, later].map((h) => h.result({ timeoutMs: 10_000 })));
    expect(ledger.starts.slice(1).map((s) => (s.payload as { w: string }).w)).toEqual([
      'due first',
      'priority 6, after',
    ]);
  });
});

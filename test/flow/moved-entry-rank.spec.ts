import { startApp, type TestApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { startProducer } from '../recovery/producer';
import { sleep, waitFor } from '../utils/helpers';
import { FlowTasksModule, ledger } from './flow-tasks';

/**
 * A plain entry of a limited task (a producer without its definition) is ranked in the waiting
 * room from its enqueue, the XADD that wrote it (Redis's clock, its entry id), not from when a
 * worker happened to read it and move it into admission: rank = enqueue time + (priority - 1) ×
 * priorityAgingMs, as the README says.
 */
describe('flow control: a plain entry moved into admission keeps its enqueue time in its rank', () => {
  const env = useProbeApps();
  beforeEach(() => ledger.reset());
  const app = (): Promise<TestApp> =>
    startApp({ prefix: env.prefix, imports: [FlowTasksModule], options: { concurrency: 20, priorityAgingMs: 100 } });

  it('read 600 ms late, it still starts ahead of a less urgent task enqueued after it', async () => {
    const a = await app();
    const producer = await startProducer(env.prefix);
    try {
      const blocker = await a.client.enqueue('flow.one', { block: true });
      await waitFor(() => ledger.starts.length === 1);
      // Unread while paused: the worker moves it into admission only after the resume.
      await a.client.pause('default');
      await sleep(200); // the notice has reached the worker: its blocking read was cut short
      // Priority 5 (the plain way's), enqueued at t: rank t + 400.
      const plain = await producer.client.enqueue('flow.one', { w: 'plain, first' });
      // Priority 6, enqueued about at t: rank about t + 500, behind the plain one.
      const later = await a.client.enqueue('flow.one', { w: 'priority 6, after' }, { priority: 6 });
      await sleep(600);
      await a.client.resume('default');
      await waitFor(async () => (await a.client.counts()).waitingForSlot === 2);
      ledger.gate.open();
      await Promise.all([blocker, plain, later].map((h) => h.result({ timeoutMs: 10_000 })));
      expect(ledger.starts.slice(1).map((s) => (s.payload as { w: string }).w)).toEqual([
        'plain, first',
        'priority 6, after',
      ]);
    } finally {
      await producer.app.close();
    }
  });
});

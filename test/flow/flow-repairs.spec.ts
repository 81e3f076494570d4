import { TaskNotFoundError } from '../../lib';
import { startApp, type TestApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { startProducer } from '../recovery/producer';
import { sleep, waitFor } from '../utils/helpers';
import { FlowTasksModule, ledger } from './flow-tasks';

/**
 * Flow control through the operator's repairs and reads (issue 11): redrive, remove, listings,
 * counts and status see the waiting room; a producer without the task's definition cannot run
 * it outside its limits.
 */
describe('flow control: repairs, reads and producers without the definition', () => {
  const env = useProbeApps();
  beforeEach(() => ledger.reset());
  const app = (): Promise<TestApp> =>
    startApp({ prefix: env.prefix, imports: [FlowTasksModule], options: { concurrency: 20 } });
  /** Starts of `task` so far; waits a little first so a run that should not start would have. */
  const startsOf = async (task: string) => {
    await sleep(300);
    return ledger.starts.filter((s) => s.task === task).length;
  };

  it('redriveAll of dead-lettered flow tasks waits for the slot: the limit holds', async () => {
    const a = await app();
    ledger.failing = true;
    const failed = [
      await a.client.enqueue('flow.flaky', { fail: true }),
      await a.client.enqueue('flow.flaky', { fail: true }),
    ];
    await waitFor(async () => (await a.client.counts()).deadLettered === 2);
    ledger.failing = false;
    await a.client.enqueue('flow.flaky', { block: true });
    await waitFor(() => ledger.running.get('flow.flaky') === 1);
    expect(await a.client.redriveAll()).toEqual({ redriven: 2, refused: [] });
    expect(await startsOf('flow.flaky')).toBe(3); // the two failed runs and the blocker: none redriven yet
    expect((await a.client.counts()).waiting).toBe(2);
    ledger.gate.open();
    await Promise.all(failed.map((h) => h.result({ timeoutMs: 10_000 })));
    expect(ledger.most.get('flow.flaky')).toBe(1);
  });

  it('a task waiting in the room is listed and counted as waiting, pending by status, and removable', async () => {
    const a = await app();
    const blocker = await a.client.enqueue('flow.one', { block: true });
    await waitFor(() => ledger.starts.length === 1);
    const waiting = await a.client.enqueue('flow.one', { w: 1 }, { group: 'G', priority: 3 });
    const kept = await a.client.enqueue('flow.one', { w: 2 });
    const counts = await a.client.counts();
    expect(counts).toMatchObject({ waiting: 2, waitingForSlot: 2, running: 1 });
    const page = await a.client.list('queued');
    expect(page.tasks.map((t) => [t.id, t.state, t.waitingForSlot, t.group, t.priority])).toEqual(
      expect.arrayContaining([
        [waiting.id, 'queued', true, 'G', 3],
        [kept.id, 'queued', true, undefined, undefined],
      ]),
    );
    expect((await waiting.status())?.state).toBe('pending');
    expect((await a.client.findTask(waiting.id)).task).toMatchObject({ state: 'queued', waitingForSlot: true });

    await a.client.remove(waiting.id);
    expect((await a.client.counts()).waiting).toBe(1);
    expect((await a.client.list('queued')).tasks.map((t) => t.id)).toEqual([kept.id]);
    await expect(a.client.remove(waiting.id)).rejects.toBeInstanceOf(TaskNotFoundError);
    ledger.gate.open();
    await blocker.result({ timeoutMs: 10_000 });
    await kept.result({ timeoutMs: 10_000 });
    expect(ledger.starts.map((s) => (s.payload as { w?: number }).w)).toEqual([undefined, 2]); // the removed never ran
    // A task that waited has no entry id in its handle: its settle is still seen.
    expect((await kept.status())?.state).toBe('completed');
  });

  it('the waiting room pages through its cursors: every waiting task once, by group and rank', async () => {
    const a = await app();
    const blocker = await a.client.enqueue('flow.one', { block: true });
    await waitFor(() => ledger.starts.length === 1);
    const waiting = [];
    for (const [w, group, priority] of [
      [1, 'B', 5],
      [2, 'A', 5],
      [3, 'B', 1],
      [4, 'A', 9],
      [5, 'A', 5],
    ] as const)
      waiting.push(await a.client.enqueue('flow.one', { w }, { group, priority }));
    const seen: number[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await a.client.list('queued', { limit: 2, cursor });
      seen.push(...page.tasks.map((t) => (JSON.parse(t.payload!) as { w: number }).w));
      if (!page.cursor) break;
      cursor = page.cursor;
    }
    // A's tasks by rank (priority 5 at enqueue time, then 9 aged 8 s later), then B's.
    expect(seen).toEqual([2, 5, 4, 3, 1]);
    ledger.gate.open();
    await blocker.result({ timeoutMs: 10_000 });
    await Promise.all(waiting.map((h) => h.result({ timeoutMs: 10_000 })));
  });

  it('a producer without the definition enqueues the plain way: the worker admits it, the limit holds', async () => {
    await app();
    const producer = await startProducer(env.prefix);
    try {
      const blocker = await producer.client.enqueue('flow.one', { block: true });
      await waitFor(() => ledger.starts.length === 1);
      const second = await producer.client.enqueue('flow.one', {});
      expect(await startsOf('flow.one')).toBe(1);
      expect((await second.status())?.state).toBe('pending');
      ledger.gate.open();
      await blocker.result({ timeoutMs: 10_000 });
      await second.result({ timeoutMs: 10_000 });
      expect(ledger.most.get('flow.one')).toBe(1);
      expect(ledger.starts.map((s) => s.attempt)).toEqual([1, 1]); // moved into admission: no attempt spent
    } finally {
      await producer.app.close();
    }
  });
});

import { FleetReads } from '../../lib/client/fleet-reads';
import { hookCommands } from '../fixtures/command-hooks';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { waitFor } from '../utils/helpers';
import { outcomeOf, plain, PlainRetryTasksModule } from '../fixtures/removal-tasks';

/**
 * remove() read the delayed and queued listings, then the running one in a separate call: a run
 * failing into its retry between them moved back to the delayed set, behind the listing that
 * would have found it, and remove() answered TaskNotFoundError while the task waited for its
 * retry (which then ran). findTask() missed it the same way. A lookup now reads every listing in
 * each of two passes (a review finding; both cases failed).
 */
describe('attack: remove() and findTask() of a task that fails into its retry while they look for it', () => {
  const env = useProbeApps();
  beforeEach(() => plain.reset());

  it('remove(): running at the delayed read, delayed at the running read: removed, never run again', async () => {
    const a = await startApp({ prefix: env.prefix, imports: [PlainRetryTasksModule], options: { concurrency: 2 } });
    const t = await a.client.enqueue('plain.retry', { wait: 't1', fail: true });
    await waitFor(() => plain.starts.length === 1);

    const { proxy, hooks } = hookCommands({ xpending: { held: true } });
    const removal = outcomeOf(new FleetReads(proxy, () => [a.keys], 60_000).remove(t.id));
    await hooks.xpending.reached.wait(); // the queued/delayed pass is done: not found there
    plain.latch('t1').open(); // attempt 1 fails: its retry waits 3 s in the delayed set
    await waitFor(async () => (await a.client.counts()).delayed === 1);
    hooks.xpending.release.open();
    const outcome = await removal;
    const delayedNow = (await a.client.list('delayed')).tasks.map((x) => x.id);
    await waitFor(() => plain.starts.length === 2, { timeoutMs: 4_000 }).catch(() => undefined);
    expect({ outcome, delayedNow, ranAgain: plain.starts.length }).toEqual({
      outcome: { resolved: undefined },
      delayedNow: [],
      ranAgain: 1,
    });
  });

  it('findTask(): running at the delayed read, delayed at the running read: found delayed', async () => {
    const a = await startApp({ prefix: env.prefix, imports: [PlainRetryTasksModule], options: { concurrency: 2 } });
    const t = await a.client.enqueue('plain.retry', { wait: 't1', fail: true });
    await waitFor(() => plain.starts.length === 1);

    const { proxy, hooks } = hookCommands({ xpending: { held: true } });
    const found = new FleetReads(proxy, () => [a.keys], 60_000).findTask(t.id);
    await hooks.xpending.reached.wait();
    plain.latch('t1').open();
    await waitFor(async () => (await a.client.counts()).delayed === 1);
    hooks.xpending.release.open();
    const got = await found;
    // Its retry's pending marker is no result (see find-task-pending-marker.spec.ts).
    expect({ state: got.task?.state, result: got.result, pending: got.pending }).toEqual({
      state: 'delayed',
      result: null,
      pending: true,
    });
  });
});

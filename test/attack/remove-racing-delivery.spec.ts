import { FleetReads } from '../../lib/client/fleet-reads';
import { hookCommands } from '../fixtures/command-hooks';
import { useProbeApps } from '../fixtures/probe-apps';
import { outcomeOf, plain, PlainRetryTasksModule } from '../fixtures/removal-tasks';
import { startApp } from '../fixtures/test-app';
import { waitFor } from '../utils/helpers';

/**
 * remove() locates a task (the listings), then one script removes it where it was found. Between
 * the two, a worker may read the entry and start the run, or (a delayed keyed task) the promoter
 * may move it to the stream and a worker start it. The run must go on and the removal say it
 * runs: never "removed" while it runs (the promise: a removal that cannot be made changes nothing
 * and says so). An attack round on the operator surface found no hole here; this pins it, with
 * the removal's script held until the run has started. It fails with remove-task.lua's group
 * checks dropped (the `if g then ... end` block: XPENDING, then the last-delivered id) for the
 * queued task, and with its delayed check dropped (`if not rcall('ZSCORE', ...)`) for the delayed
 * one: each removal then answers removed (resolved) while the run goes on, and its result()
 * says TaskCancelledError of a run that completed.
 */
describe('attack: remove() whose task a worker starts between its lookup and its script', () => {
  const env = useProbeApps();
  beforeEach(() => plain.reset());

  it.each([
    ['a queued task', {}],
    ['a queued keyed task', { key: 'k-queued' }],
    ['a delayed keyed task, promoted then started', { key: 'k-delayed', delayMs: 400 }],
  ])('%s: TaskRunningError, the run goes on and completes once', async (_, options) => {
    const producer = await startApp({
      prefix: env.prefix,
      imports: [PlainRetryTasksModule],
      options: { worker: false },
    });
    const handle = await producer.client.enqueue('plain.void', { wait: 'run' }, options);

    const { proxy, hooks } = hookCommands({ sq_remove_task: { held: true } });
    const removal = outcomeOf(new FleetReads(proxy, () => [producer.keys], 60_000).remove(handle.id));
    await hooks.sq_remove_task.reached.wait(); // located where it waits: its script held
    await startApp({ prefix: env.prefix, imports: [PlainRetryTasksModule] });
    await waitFor(() => plain.starts.length === 1, { timeoutMs: 5_000 });
    hooks.sq_remove_task.release.open();
    const outcome = await removal;
    plain.latch('run').open();
    const result = await handle.result({ timeoutMs: 5_000 }).then(
      () => 'completed',
      (error: Error) => error.constructor.name,
    );
    expect({ outcome, result, runs: plain.starts.length }).toEqual({
      outcome: { rejected: 'TaskRunningError' },
      result: 'completed',
      runs: 1,
    });
  });
});

import { Subject } from 'rxjs';
import type { Delivery } from '../../lib/consumer/delivery';
import type { Outcome } from '../../lib/consumer/outcome';
import { createQueuePipeline, type PipelineParts } from '../../lib/consumer/queue-pipeline';

/** A pipeline whose sweeps fail or succeed as `plan` says (true: fail), then fail for good. */
function pipelineWithFailingSweep(plan: boolean[], onSweepError: (attempt: number) => void) {
  const stop$ = new Subject<void>();
  let sweeps = 0;
  const parts: PipelineParts = {
    read: () => new Promise<Delivery[]>(() => undefined), // a read that never returns: only sweeps run
    sweep: async () => {
      const fail = plan[sweeps++] ?? true;
      if (fail) throw new Error(`sweep ${sweeps} failed`);
      return [];
    },
    promote: () => new Promise<number>(() => undefined),
    run: () => Promise.reject(new Error('no runs here')),
    onRunEnd: () => undefined,
    settle: async (): Promise<Outcome[]> => [],
    onError: (source, _error, attempt) => {
      if (source === 'sweep') onSweepError(attempt);
    },
    stop$,
    promoteSoon$: new Subject<void>(),
    isStopping: () => false,
    concurrency: 1,
    sweepIntervalMs: 1,
    ackBatchMs: 0,
  };
  return { pipeline: createQueuePipeline(parts), stop$ };
}

describe('queue pipeline: sweep failures reach onError as consecutive attempts', () => {
  it('numbers failures 1, 2, ... from the first failure, and starts again at 1 after a sweep succeeds', async () => {
    const attempts: number[] = [];
    // fail, fail, ok, fail, fail: the sweep timer's tick index would say 0, 1, 3, 4.
    const plan = [true, true, false, true, true];
    let done!: () => void;
    const fourFailures = new Promise<void>((resolve) => (done = resolve));
    const { pipeline, stop$ } = pipelineWithFailingSweep(plan, (attempt) => {
      attempts.push(attempt);
      if (attempts.length === 4) done();
    });
    const subscription = pipeline.subscribe();
    await fourFailures;
    stop$.next();
    subscription.unsubscribe();
    // The consumer's throttle logs attempt 1 and every 10th: each new run of failures is logged.
    expect(attempts).toEqual([1, 2, 1, 2]);
  });
});

// Review finding: the promotion's next try was timed by the last promotion that succeeded, so a
// success that asked for another at once (a full batch, a promoteSoon during it) followed by
// failures on end retried with no pause, logging each try as a first failure.
describe('queue pipeline: promotion failures', () => {
  it('wait a sweep interval before the next try, and count as consecutive attempts', async () => {
    const stop$ = new Subject<void>();
    const attempts: number[] = [];
    let promotions = 0;
    const parts: PipelineParts = {
      read: () => new Promise<Delivery[]>(() => undefined),
      sweep: async () => [],
      promote: async () => {
        if (promotions++ === 0) return 0; // a full batch: the next promotion at once
        throw new Error('stream out of ids');
      },
      run: () => Promise.reject(new Error('no runs here')),
      onRunEnd: () => undefined,
      settle: async (): Promise<Outcome[]> => [],
      onError: (source, _error, attempt) => {
        if (source === 'promote') attempts.push(attempt);
      },
      stop$,
      promoteSoon$: new Subject<void>(),
      isStopping: () => false,
      concurrency: 1,
      sweepIntervalMs: 100,
      ackBatchMs: 0,
    };
    const subscription = createQueuePipeline(parts).subscribe();
    await new Promise((resolve) => setTimeout(resolve, 350));
    stop$.next();
    subscription.unsubscribe();
    // The success, its immediate follow-up (failing), then one try per interval: 4 or 5 in 350 ms.
    expect(promotions).toBeLessThanOrEqual(6);
    expect(attempts.slice(0, 3)).toEqual([1, 2, 3]);
  });
});

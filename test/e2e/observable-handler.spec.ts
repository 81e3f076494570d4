import { Injectable, UseInterceptors, type CallHandler, type NestInterceptor } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Observable } from 'rxjs';
import { QueueClient, StreamQueueModule, Task, TaskFailedError, type TaskHandle } from '../../lib';
import { closeModule } from '../fixtures/close-module';
import { useTasksModule } from '../fixtures/tasks-module';
import { testOptions } from '../fixtures/test-app';
import { Latch, sleep, waitFor } from '../utils/helpers';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

// Hole: a @Task handler that returns an rxjs Observable (as Nest handlers may) was taken for its
// value: never subscribed, its run completed at once with the Observable object as its result,
// out of flight (no lease kept, app.close() did not wait), its errors never failures. It now runs
// as a Promise-returning handler does: subscribed once, its last value the result (undefined when
// it completes without a value), an error a failure, in flight until it completes; an abort of
// the run (timeout, cancel, shutdown deadline) unsubscribes it. The interleavings are driven by
// latches.

/** One run's Observable: what happened to it, and the latch that lets it finish. */
interface Run {
  subscribed: boolean;
  unsubscribed: boolean;
  readonly finish: Latch;
}
let run: Run;
const newRun = (): Run => ({ subscribed: false, unsubscribed: false, finish: new Latch() });

/** Emits `first` at once and, once `run.finish` opens, what `end` does (values, an error, completion). */
function controlled(
  first: unknown[],
  end: (subscriber: { next(v: unknown): void; error(e: unknown): void; complete(): void }) => void,
) {
  const mine = run;
  return new Observable<unknown>((subscriber) => {
    mine.subscribed = true;
    first.forEach((value) => subscriber.next(value));
    let finished = false;
    void mine.finish.wait().then(() => {
      finished = true;
      end(subscriber);
    });
    // Also called once it completed or errored: only a teardown before then is an unsubscribe.
    return () => {
      if (!finished) mine.unsubscribed = true;
    };
  });
}

@Injectable()
class PassesThrough implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

@Injectable()
class ObservableTasks {
  @Task('obs.last', { maxAttempts: 1 })
  last(): Observable<unknown> {
    return controlled(['first'], (s) => (s.next('last'), s.complete()));
  }

  @Task('obs.error', { maxAttempts: 1 })
  error(): Observable<unknown> {
    return controlled(['first'], (s) => s.error(new RangeError('observable failed')));
  }

  @Task('obs.empty', { maxAttempts: 1 })
  empty(): Observable<unknown> {
    return controlled([], (s) => s.complete());
  }

  @Task('obs.intercepted.empty', { maxAttempts: 1 })
  @UseInterceptors(PassesThrough)
  interceptedEmpty(): Observable<unknown> {
    return controlled([], (s) => s.complete());
  }

  @Task('obs.never', { maxAttempts: 1, timeoutMs: 300 })
  never(): Observable<unknown> {
    return controlled(['first'], () => undefined);
  }

  @Task('obs.intercepted.last', { maxAttempts: 1 })
  @UseInterceptors(PassesThrough)
  interceptedLast(): Observable<unknown> {
    return controlled(['first'], (s) => (s.next('last'), s.complete()));
  }

  @Task('obs.intercepted.never', { maxAttempts: 1, timeoutMs: 300 })
  @UseInterceptors(PassesThrough)
  interceptedNever(): Observable<unknown> {
    return controlled(['first'], () => undefined);
  }
}

/** How a handle's result() settled: its value, or its error's name and cause. */
function watch(handle: TaskHandle) {
  const seen: { settled: boolean; value?: unknown; failed?: { causeName: string; message: string } } = {
    settled: false,
  };
  const done = handle.result({ timeoutMs: 10_000 }).then(
    (value) => Object.assign(seen, { settled: true, value }),
    (error: unknown) =>
      Object.assign(seen, {
        settled: true,
        failed:
          error instanceof TaskFailedError
            ? { causeName: error.causeName, message: error.message }
            : { causeName: `not a failure: ${String(error)}`, message: '' },
      }),
  );
  return { seen, done };
}

describe('a @Task handler that returns an Observable', () => {
  const tasks = useTasksModule([ObservableTasks, PassesThrough], { concurrency: 2 });

  beforeEach(() => (run = newRun()));
  afterEach(() => run.finish.open());

  /** Enqueues `task` and waits until its Observable was subscribed (or its result came first). */
  async function started(task: string) {
    const watched = watch(await tasks.client.enqueue(task, {}));
    await waitFor(() => run.subscribed || watched.seen.settled, { description: `${task} subscribed or settled` });
    // Running, not settled: it is in flight until it completes.
    expect({ subscribed: run.subscribed, settled: watched.seen.settled }).toEqual({ subscribed: true, settled: false });
    return watched;
  }

  it.each(['obs.last', 'obs.intercepted.last'])(
    '%s: in flight until it completes; its last value is the result',
    async (task) => {
      const { seen, done } = await started(task);
      await sleep(200);
      expect(seen.settled).toBe(false);
      run.finish.open();
      await done;
      expect(seen).toEqual({ settled: true, value: 'last' });
    },
  );

  it('an error it emits fails the run', async () => {
    const { seen, done } = await started('obs.error');
    run.finish.open();
    await done;
    expect(seen.failed).toEqual({ causeName: 'RangeError', message: 'observable failed' });
  });

  it.each(['obs.empty', 'obs.intercepted.empty'])(
    '%s: completing without a value completes the run with undefined',
    async (task) => {
      const { seen, done } = await started(task);
      run.finish.open();
      await done;
      expect(seen).toEqual({ settled: true, value: undefined });
    },
  );

  it.each(['obs.last', 'obs.intercepted.last'])('%s: a cancel() of its key unsubscribes it', async (task) => {
    const handle = await tasks.client.enqueue(task, {}, { key: `cancelled-${task}` });
    const { seen, done } = watch(handle);
    await waitFor(() => run.subscribed, { description: `${task} subscribed` });
    await tasks.client.cancel(`cancelled-${task}`);
    await waitFor(() => run.unsubscribed || seen.settled, { description: 'unsubscribed or settled' });
    await done;
    expect({ unsubscribed: run.unsubscribed, value: seen.value }).toEqual({ unsubscribed: true, value: undefined });
  });

  it.each(['obs.never', 'obs.intercepted.never'])(
    '%s: its timeout unsubscribes it before the run fails',
    async (task) => {
      const { seen, done } = await started(task);
      let unsubscribedAtSettle: boolean | undefined;
      await done.then(() => (unsubscribedAtSettle = run.unsubscribed));
      expect({ unsubscribedAtSettle, causeName: seen.failed?.causeName }).toEqual({
        unsubscribedAtSettle: true,
        causeName: 'TaskTimeoutError',
      });
    },
  );
});

describe('app.close() and a handler that returns an Observable', () => {
  const prefix = randomPrefix();
  // Made once the block above closed every connection (its afterAll runs first).
  let redis: ReturnType<typeof createRedis>;
  beforeAll(() => (redis = createRedis()));
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it('waits for the running Observable, then stores its last value', async () => {
    run = newRun();
    const app = await Test.createTestingModule({
      imports: [StreamQueueModule.forRoot(testOptions(prefix, { shutdownTimeoutMs: 10_000 }))],
      providers: [ObservableTasks, PassesThrough],
    }).compile();
    await app.init();
    const producer = await Test.createTestingModule({
      imports: [StreamQueueModule.forRoot(testOptions(prefix, { worker: false }))],
    }).compile();
    await producer.init();
    try {
      const { seen, done } = watch(await producer.get(QueueClient).enqueue('obs.last', {}));
      await waitFor(() => run.subscribed || seen.settled, { description: 'subscribed or settled' });
      let closed = false;
      const closing = closeModule(app).then(() => (closed = true));
      await sleep(300);
      expect({ closed, settled: seen.settled }).toEqual({ closed: false, settled: false });
      run.finish.open();
      await closing;
      await done;
      expect(seen).toEqual({ settled: true, value: 'last' });
    } finally {
      run.finish.open();
      await closeModule(app);
      await closeModule(producer);
    }
  });
});

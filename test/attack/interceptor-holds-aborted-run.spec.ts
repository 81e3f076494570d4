import { Injectable, UseInterceptors, type CallHandler, type NestInterceptor } from '@nestjs/common';
import { NEVER, Observable, from, of, switchMap, tap } from 'rxjs';
import { Task } from '../../lib';
import { useTasksModule } from '../fixtures/tasks-module';
import { Latch, waitFor } from '../utils/helpers';

// Review finding: a run settles only once its interceptor chain has, and an aborted run (timed
// out, superseded, cancelled, its lease lost) waited for that chain too. An interceptor whose
// Observable never completes (one that forwards the handler's values but not its completion, a
// common slip when wrapping next.handle() by hand, or one that never calls it) held its run for
// good, though the handler had returned or never started: its timeoutMs fired and changed
// nothing, the run never settled, and its slot stayed taken, so with concurrency 1 nothing else
// of the queue ever ran again. An aborted run now waits for its handler calls only; and since an
// interceptor may still call next.handle() after that (or after answering for the handler), a
// handler call asked for once its run has ended is refused: it would run beside the run's retry.
// The late calls are driven by latches opened after the run settled.

const calls = { forwards: 0, holds: 0, gated: 0, later: 0 };
/** Opened by the spec once the run settled: the interceptor then calls next.handle(). */
let late = new Latch();
/** What a late next.handle() answered: the handler's value, or an error's code. */
const lateCalls: { value?: unknown; code?: string }[] = [];
const recordLate = tap({
  next: (value: unknown) => void lateCalls.push({ value }),
  error: (error: { code?: string }) => void lateCalls.push({ code: error.code }),
});

/** Forwards the handler's values, never its completion. */
@Injectable()
class ForwardsValuesOnly implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return new Observable((subscriber) => {
      next.handle().subscribe((value) => subscriber.next(value));
    });
  }
}

/** Never calls the handler, never answers. */
@Injectable()
class HoldsForever implements NestInterceptor {
  intercept(): Observable<unknown> {
    return NEVER;
  }
}

/** Calls the handler once the spec opens `late`. */
@Injectable()
class WaitsAtGate implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return from(late.wait()).pipe(switchMap(() => next.handle().pipe(recordLate)));
  }
}

/** Answers for the handler at once, and calls it once the spec opens `late`. */
@Injectable()
class AnswersThenCallsLater implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    void late.wait().then(() =>
      next
        .handle()
        .pipe(recordLate)
        .subscribe({ error: () => undefined }),
    );
    return of('answered by the interceptor');
  }
}

@Injectable()
class HeldTasks {
  @Task('held.forwards', { timeoutMs: 200, maxAttempts: 1 })
  @UseInterceptors(ForwardsValuesOnly)
  async forwards(): Promise<string> {
    calls.forwards++;
    await Promise.resolve();
    return 'handler returned';
  }

  @Task('held.holds', { timeoutMs: 200, maxAttempts: 1 })
  @UseInterceptors(HoldsForever)
  holds(): string {
    calls.holds++;
    return 'never called';
  }

  @Task('held.gated', { timeoutMs: 200, maxAttempts: 1 })
  @UseInterceptors(WaitsAtGate)
  gated(): string {
    calls.gated++;
    return 'called late';
  }

  @Task('held.later', { maxAttempts: 1 })
  @UseInterceptors(AnswersThenCallsLater)
  later(): string {
    calls.later++;
    return 'called late';
  }

  @Task('held.next')
  next(): string {
    return 'ran';
  }
}

describe('a run aborted while its interceptor holds the chain', () => {
  // One slot: a run held for good would keep every later run of the queue from starting.
  const tasks = useTasksModule([HeldTasks], { concurrency: 1, shutdownTimeoutMs: 500 });

  beforeEach(() => {
    late = new Latch();
    lateCalls.length = 0;
  });
  afterEach(() => late.open());

  it('a chain that never completes after its handler returned: the timeout settles the run and frees its slot', async () => {
    const handle = await tasks.client.enqueue('held.forwards', {});
    const error = await handle.result({ timeoutMs: 3_000 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/exceeded its timeout of 200 ms/);
    expect(calls.forwards).toBe(1);
    expect(await (await tasks.client.enqueue('held.next', {})).result({ timeoutMs: 3_000 })).toBe('ran');
  });

  it('a chain that never calls its handler: the timeout settles the run and frees its slot', async () => {
    const handle = await tasks.client.enqueue('held.holds', {});
    const error = await handle.result({ timeoutMs: 3_000 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/exceeded its timeout of 200 ms/);
    expect(calls.holds).toBe(0);
    expect(await (await tasks.client.enqueue('held.next', {})).result({ timeoutMs: 3_000 })).toBe('ran');
  });

  it('an interceptor that calls next.handle() after the timeout settled the run: the handler is not called', async () => {
    const handle = await tasks.client.enqueue('held.gated', {});
    const error = await handle.result({ timeoutMs: 3_000 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/exceeded its timeout of 200 ms/);
    late.open();
    await waitFor(() => lateCalls.length === 1, { description: 'the late next.handle() answered', timeoutMs: 2_000 });
    expect(lateCalls).toEqual([{ code: 'RUN_ENDED' }]);
    expect(calls.gated).toBe(0);
  });

  it('an interceptor that answered, then calls next.handle() after the run completed: the handler is not called', async () => {
    const handle = await tasks.client.enqueue('held.later', {});
    expect(await handle.result({ timeoutMs: 3_000 })).toBe('answered by the interceptor');
    late.open();
    await waitFor(() => lateCalls.length === 1, { description: 'the late next.handle() answered', timeoutMs: 2_000 });
    expect(lateCalls).toEqual([{ code: 'RUN_ENDED' }]);
    expect(calls.later).toBe(0);
    expect(tasks.logger.warnings().join('\n')).toContain(
      'HeldTasks.later: an interceptor called next.handle() after its run had ended; the handler was not called.',
    );
  });
});

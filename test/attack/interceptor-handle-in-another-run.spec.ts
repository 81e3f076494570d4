import { Injectable, UseInterceptors, type CallHandler, type NestInterceptor } from '@nestjs/common';
import { Subject, first, switchMap, tap, type Observable } from 'rxjs';
import { currentTask, Task, type TaskContext } from '../../lib';
import { useTasksModule } from '../fixtures/tasks-module';
import { Latch } from '../utils/helpers';

// Review finding: Nest's CallHandler binds the handler to the async context in which
// next.handle() is called. An interceptor that starts a run's handler from a callback of another
// run (here a one-at-a-time gate released by an RxJS Subject in the previous run's finalize, as a
// bulkhead or a rate limiter built on a Subject does) called the waiting run's handler in the
// previous run's context: currentTask() in run B's handler returned run A's context, so a logger
// tagged B's lines with A's id. The gate is driven by latches: B waits at it before A ends.

/** Runs whose handler has run, by payload: their own id, and what currentTask() said there. */
const seen = new Map<string, { own: string; current?: string }>();
const waiting = new Latch();
const firstStarted = new Latch();
const finishFirst = new Latch();

/** Lets one run through at a time; the next waits for the Subject the previous one's end fires. */
@Injectable()
class OneAtATime implements NestInterceptor {
  private busy = false;
  private readonly freed = new Subject<void>();

  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    const go = () =>
      next.handle().pipe(
        tap({
          finalize: () => {
            this.busy = false;
            this.freed.next();
          },
        }),
      );
    if (!this.busy) {
      this.busy = true;
      return go();
    }
    waiting.open();
    return this.freed.pipe(
      first(),
      switchMap(() => {
        this.busy = true;
        return go();
      }),
    );
  }
}

@Injectable()
class GatedTasks {
  @Task('gated.run')
  @UseInterceptors(OneAtATime)
  async run(payload: { which: string }, ctx: TaskContext): Promise<void> {
    if (payload.which === 'A') {
      firstStarted.open();
      await finishFirst.wait();
    }
    seen.set(payload.which, { own: ctx.id, current: currentTask()?.id });
    // Still its own after an await.
    await Promise.resolve();
    if (currentTask()?.id !== ctx.id) seen.get(payload.which)!.current = currentTask()?.id;
  }
}

describe('a run whose handler an interceptor starts from another run', () => {
  const tasks = useTasksModule([GatedTasks], { concurrency: 2 });
  // A failing expectation must not leave A's handler blocked for the close.
  afterEach(() => finishFirst.open());

  it("runs the handler in its own run's async context, not in the one that let it through", async () => {
    const a = await tasks.client.enqueue('gated.run', { which: 'A' });
    await firstStarted.wait();
    const b = await tasks.client.enqueue('gated.run', { which: 'B' });
    // B waits at the gate while A's handler holds it; A's end lets B through.
    await waiting.wait();
    finishFirst.open();
    await a.result();
    await b.result();
    expect(seen.get('A')).toEqual({ own: a.id, current: a.id });
    expect(seen.get('B')).toEqual({ own: b.id, current: b.id });
  });
});

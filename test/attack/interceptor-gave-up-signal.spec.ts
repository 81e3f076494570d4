import { Injectable, UseInterceptors, type CallHandler, type NestInterceptor } from '@nestjs/common';
import { Observable, from, map, mergeMap, race, throwError } from 'rxjs';
import { InterceptorGaveUpError, Task, type TaskContext } from '../../lib';
import { useTasksModule } from '../fixtures/tasks-module';
import { Latch, waitFor } from '../utils/helpers';

// Review finding: an interceptor that gave up on its handler (rxjs timeout(), or an answer of its
// own) decided the run's outcome, and the run settled once the handler returned (no overlap with
// its retry), but the handler's ctx.signal was never aborted: a cooperative handler could not
// learn that its result no longer mattered, and held its slot (and its key) until it finished on
// its own. The interleavings here are driven by latches: the interceptor gives up when `cue`
// opens, while the handler waits for its signal.

/** One run's handler: what it saw, and the latches that drive it. */
interface Run {
  readonly started: Latch;
  readonly finish: Latch;
  /** Lets a handler whose signal never aborts go on, so a failed spec leaves none blocked. */
  readonly release: Latch;
  ctx?: TaskContext;
  ended: boolean;
}
let run: Run;
let cue: Latch;
const newRun = (): Run => ({ started: new Latch(), finish: new Latch(), release: new Latch(), ended: false });

/** Fails the run with its own error once `cue` opens, the handler still running. */
@Injectable()
class FailsOnCue implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    const gaveUp = from(cue.wait()).pipe(mergeMap(() => throwError(() => new Error('interceptor gave up'))));
    return race(next.handle(), gaveUp);
  }
}

/** Answers for the handler once `cue` opens, the handler still running. */
@Injectable()
class AnswersOnCue implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return race(next.handle(), from(cue.wait()).pipe(map(() => 'answered by the interceptor')));
  }
}

/** Lets the handler's own answer through. */
@Injectable()
class PassesThrough implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

@Injectable()
class CooperativeTasks {
  private async cooperate(ctx: TaskContext): Promise<string> {
    run.ctx = ctx;
    run.started.open();
    // A cooperative handler: it stops when its signal says so, and only then (finish) returns.
    const aborted = new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await Promise.race([aborted, run.release.wait()]);
    await run.finish.wait();
    run.ended = true;
    return 'handler stopped';
  }

  @Task('gave-up.fails', { maxAttempts: 1 })
  @UseInterceptors(FailsOnCue)
  fails(_payload: unknown, ctx: TaskContext): Promise<string> {
    return this.cooperate(ctx);
  }

  @Task('gave-up.answers', { maxAttempts: 1 })
  @UseInterceptors(AnswersOnCue)
  answers(_payload: unknown, ctx: TaskContext): Promise<string> {
    return this.cooperate(ctx);
  }

  @Task('gave-up.passes', { maxAttempts: 1 })
  @UseInterceptors(PassesThrough)
  async passes(_payload: unknown, ctx: TaskContext): Promise<string> {
    run.ctx = ctx;
    await Promise.resolve();
    return 'handler answered';
  }
}

describe('an interceptor that gives up on its handler aborts the run signal', () => {
  const tasks = useTasksModule([CooperativeTasks], { concurrency: 2 });

  beforeEach(() => {
    run = newRun();
    cue = new Latch();
  });
  afterEach(() => {
    // A failing expectation must not leave a handler blocked for the next spec or the close.
    run.release.open();
    run.finish.open();
  });

  /** Runs `task` until its interceptor gave up; returns its result promise and whether it settled. */
  async function giveUpOn(task: string) {
    const handle = await tasks.client.enqueue(task, {});
    const settled = { at: undefined as undefined | 'before-handler-ended' | 'after-handler-ended' };
    const result = handle.result();
    result.then(
      () => (settled.at = run.ended ? 'after-handler-ended' : 'before-handler-ended'),
      () => (settled.at = run.ended ? 'after-handler-ended' : 'before-handler-ended'),
    );
    await run.started.wait();
    expect(run.ctx!.signal.aborted).toBe(false);
    cue.open();
    await waitFor(() => run.ctx!.signal.aborted, { description: "the handler's ctx.signal aborted", timeoutMs: 2_000 });
    return { result, settled };
  }

  it('an interceptor that errors first: the signal aborts, the run fails with its error once the handler returned', async () => {
    const { result, settled } = await giveUpOn('gave-up.fails');
    const reason = run.ctx!.signal.reason as Error;
    expect(reason).toBeInstanceOf(InterceptorGaveUpError);
    expect(reason.message).toContain('interceptor gave up');
    // The handler is still running: the run has not settled.
    expect(settled.at).toBeUndefined();
    run.finish.open();
    await expect(result).rejects.toThrow('interceptor gave up');
    expect(settled.at).toBe('after-handler-ended');
  });

  it('an interceptor that answers first: the signal aborts, the run completes with its answer once the handler returned', async () => {
    const { result, settled } = await giveUpOn('gave-up.answers');
    expect(run.ctx!.signal.reason).toBeInstanceOf(InterceptorGaveUpError);
    expect(settled.at).toBeUndefined();
    run.finish.open();
    await expect(result).resolves.toBe('answered by the interceptor');
    expect(settled.at).toBe('after-handler-ended');
  });

  it('control: a handler that answers before its interceptor is never aborted', async () => {
    const result = await (await tasks.client.enqueue('gave-up.passes', {})).result();
    expect(result).toBe('handler answered');
    expect(run.ctx!.signal.aborted).toBe(false);
  });
});

import { Injectable } from '@nestjs/common';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { EnqueueCall } from './client/enqueue-call';
import { InvalidOptionError } from './errors';
import type { TaskContext } from './interfaces';
import type { TaskMessage } from './task/task-message';

/**
 * @internal Wraps an enqueue: returns what `send` returns, for calls it may have given a trace
 * context (field t). `calls` holds one call for enqueue(), replace(), several for enqueueMany().
 */
export type EnqueueWrapper = <T>(
  calls: readonly EnqueueCall[],
  send: (calls: readonly EnqueueCall[]) => Promise<T>,
  idsOf: (sent: T) => string[],
) => Promise<T>;

/**
 * @internal Whether a run was aborted (timed out, superseded, cancelled, its lease lost, its
 * worker stopping) and why, read when its handler has ended: its outcome is then the abort's, not
 * the handler's. A Delivery is one.
 */
export interface RunAbort {
  readonly isAborted: boolean;
  readonly abortReason: unknown;
}

/** @internal Wraps one run of a handler: calls `run` once and returns what it returns. */
export type RunWrapper = (run: () => unknown, message: TaskMessage, ctx: TaskContext, abort: RunAbort) => unknown;

/** @internal What tracing plugs in: its wrappers, and the options given to forRoot() if any. */
export interface Tracing {
  readonly enqueue: EnqueueWrapper;
  readonly run: RunWrapper;
  readonly options?: Readonly<Record<string, unknown>>;
}

const runs = new AsyncLocalStorage<TaskContext>();

/**
 * The context of the run the caller is in (its id, key, attempt, signal...), or undefined outside
 * a run. Set for runs of tasks with interceptors, and for every run with the module option
 * `runContext: true`: each run gets an async context of its own, so a logger can tag its lines.
 * @publicApi
 */
export function currentTask(): TaskContext | undefined {
  return runs.getStore();
}

/**
 * @internal The seams the optional integrations (nest-stream-queue/tracing, the Nest enhancers)
 * plug into. Each is read once when a consumer starts or per enqueue: with nothing plugged in,
 * a run and an enqueue do no work here beyond one check.
 */
@Injectable()
export class StreamQueueInstrumentation {
  private tracing?: Tracing;
  private runContext = false;

  /** The one wrapper around enqueues (tracing), or undefined. */
  get enqueue(): EnqueueWrapper | undefined {
    return this.tracing?.enqueue;
  }

  /**
   * Plugs tracing in. The tracing module may be imported several times in one app (bare by a
   * library, with options by the app): it is one tracer. Options given win over none; two
   * different sets of options fail bootstrap, naming the first option that differs.
   */
  setTracing(tracing: Tracing): void {
    const current = this.tracing;
    if (current?.options && tracing.options) {
      const differs = Object.keys(tracing.options).find((name) => current.options![name] !== tracing.options![name]);
      if (differs) {
        throw new InvalidOptionError(
          differs,
          `the same value in every StreamQueueTracingModule.forRoot() of the app (${String(current.options[differs])})`,
          tracing.options[differs],
        );
      }
    }
    if (!current?.options) this.tracing = tracing;
  }

  /** Every run enters an async context of its own (see currentTask). */
  enableRunContext(): void {
    this.runContext = true;
  }

  /**
   * @internal What the runner calls around every handler, or undefined when nothing is plugged
   * in (the runner then calls the handler directly). Composed once, when a consumer starts.
   */
  runWrapper(): RunWrapper | undefined {
    const composed = this.tracing?.run;
    // Entering an AsyncLocalStorage turns on Node's promise hooks for the whole process (about a
    // tenth of a no-op task's cost on Node 20): only when asked for.
    if (!this.runContext) return composed;
    if (!composed) return (run, _message, ctx) => runs.run(ctx, run);
    return (run, message, ctx, abort) => runs.run(ctx, () => composed(run, message, ctx, abort));
  }
}

/** @internal Runs `run` in the async context of `ctx` (a task with interceptors, see TaskEnhancers). */
export function inRunContext<T>(ctx: TaskContext, run: () => T): T {
  return runs.getStore() === ctx ? run() : runs.run(ctx, run);
}

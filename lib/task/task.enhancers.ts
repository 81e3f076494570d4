import { Injectable, Logger } from '@nestjs/common';
import { ExternalContextCreator } from '@nestjs/core';
import { defaultIfEmpty, isObservable, Observable } from 'rxjs';
import type { TaskContext } from '../interfaces/index';
import { InterceptorGaveUpError, LeaseLostError, StreamQueueError } from '../errors';
import { inRunContext } from '../stream-queue.instrumentation';
import { noteHandlerCall } from './handler-call';
import { untilAborted } from './handler-observable';
import { askHandlerToStop } from './handler-stop';
import { describeThrown } from './task-outcome';

/** `ExecutionContext.getType()` of a task run, for interceptors that serve several transports. @publicApi */
export const STREAM_QUEUE_CONTEXT_TYPE = 'stream-queue';

/**
 * Where @UseInterceptors(), @UseGuards() and @UseFilters() record their enhancers: @nestjs/common's
 * constants, not exported from its root (a deep import breaks under Nest 12's export map).
 */
export const INTERCEPTORS_METADATA = '__interceptors__';
const GUARDS_METADATA = '__guards__';
const EXCEPTION_FILTERS_METADATA = '__exceptionFilters__';

type Handler = (payload: unknown, ctx: unknown) => unknown;

/**
 * @internal Wraps a `@Task()` method in Nest's interceptor chain when its class or method declares
 * `@UseInterceptors()`, as Nest does for a controller: global interceptors first, then the class's,
 * then the method's, around `(payload, ctx)` with `getType() === 'stream-queue'`. A task without
 * interceptors of its own keeps its bare handler: no chain, no cost. Guards and exception filters
 * are not applied (see the README), and a task that declares them is warned about at bootstrap.
 */
@Injectable()
export class TaskEnhancers {
  private readonly logger = new Logger('StreamQueue');

  constructor(private readonly contextCreator: ExternalContextCreator) {}

  wrap(instance: object, methodName: string, method: Handler, location: string): Handler {
    const declared = (key: string) => declares(key, instance, method);
    for (const [key, what] of [
      [GUARDS_METADATA, 'guards'],
      [EXCEPTION_FILTERS_METADATA, 'exception filters'],
    ]) {
      if (declared(key)) {
        this.logger.warn(`${location} declares ${what}; a task run applies interceptors only, so they are ignored.`);
      }
    }
    if (!declared(INTERCEPTORS_METADATA)) return method.bind(instance);
    const handlers = new HandlersOfRuns(method, () =>
      this.logger.warn(
        `${location}: an interceptor called next.handle() after its run had ended; the handler was not called.`,
      ),
    );
    const chained = this.contextCreator.create(
      instance as Record<string, unknown>,
      handlers.callback as (...args: unknown[]) => unknown,
      methodName,
      undefined,
      undefined,
      undefined,
      undefined,
      { interceptors: true, guards: false, filters: false },
      STREAM_QUEUE_CONTEXT_TYPE,
    );
    // Each run in an async context of its own, entered before the first interceptor runs. Not
    // started until an interceptor calls its handler: one let go before that gives its delivery back.
    return (payload, ctx) => {
      noteHandlerCall(ctx, false);
      return inRunContext(ctx as TaskContext, () => handlers.settleAfter(ctx, chained(payload, ctx)));
    };
  }
}

/** Whether a task's class or method declares enhancers under `key` (INTERCEPTORS_METADATA...). */
export function declares(key: string, instance: object, method: unknown): boolean {
  return [instance.constructor, method].some(
    (t) => (Reflect.getMetadata(key, t as object) as unknown[] | undefined)?.length,
  );
}

/**
 * The handler calls of each run, so a run ends when its handler has, as a bare one does. An
 * interceptor may give up on the handler (rxjs `timeout()`) or answer without waiting for it:
 * the chain then settles while the handler still runs, and the run's retry (or the next run of
 * its key) would start beside it. The run keeps the chain's outcome, once every handler call
 * it made has ended; meanwhile its `ctx.signal` aborts, so a cooperative handler stops early.
 * The other way round, an aborted run waits for its handler calls, not for a chain that never
 * settles, and once a run has ended its handler is not called any more.
 */
class HandlersOfRuns {
  /** The handler as Nest calls it: records each call, until it ends, under the run's context. */
  readonly callback: Handler;
  private readonly calls = new WeakMap<object, Set<Promise<void>>>();
  /** Runs that ended: a handler call asked for later would run beside their retry. */
  private readonly endedRuns = new WeakSet<object>();
  /** Runs whose handler call was refused for their abort: their chain's answer is no outcome. */
  private readonly refusedRuns = new WeakSet<object>();

  constructor(method: Handler, onLateCall: () => void) {
    const { calls, endedRuns, refusedRuns } = this;
    this.callback = function (this: unknown, payload: unknown, ctx: unknown) {
      if (ctx !== null && typeof ctx === 'object' && endedRuns.has(ctx)) {
        onLateCall();
        throw new StreamQueueError(
          'RUN_ENDED',
          'The handler was called after its run had ended (an interceptor called next.handle() late): it was not called.',
        );
      }
      // A run aborted before its handler started never starts it, as a bare run: after a lost
      // lease, whose chain is waited for, another worker may be running it already.
      const signal = (ctx as Partial<TaskContext> | null)?.signal;
      if (signal instanceof AbortSignal && signal.aborted) {
        refusedRuns.add(ctx as object);
        throw signal.reason;
      }
      noteHandlerCall(ctx, true);
      // In the run's own context: Nest binds the handler to the context next.handle() was called
      // in, which may be another run's (an interceptor letting runs through from a Subject).
      const returned = inRunContext(ctx as TaskContext, () => method.call(this, payload, ctx));
      if (ctx === null || typeof ctx !== 'object') return returned;
      const callsOf = () => {
        let running = calls.get(ctx);
        if (!running) calls.set(ctx, (running = new Set()));
        return running;
      };
      if (isObservable(returned)) {
        // Running from the chain's subscription (Nest's) until it completes, errors or is
        // unsubscribed; an abort of the run unsubscribes it (see untilAborted). Out of the set
        // in its teardown, before the chain can settle on its last value. One that completes
        // without a value gives the chain undefined, as a bare run's result is (Nest's
        // lastValueFrom would fail the run with an EmptyError).
        const signal = (ctx as Partial<TaskContext>).signal;
        const source = (signal instanceof AbortSignal ? untilAborted(returned, signal) : returned).pipe(
          defaultIfEmpty(undefined),
        );
        return new Observable<unknown>((subscriber) => {
          const of = callsOf();
          let end!: () => void;
          const ended = new Promise<void>((resolve) => (end = resolve));
          of.add(ended);
          const inner = source.subscribe(subscriber);
          return () => {
            inner.unsubscribe();
            of.delete(ended);
            end();
          };
        });
      }
      if (typeof (returned as PromiseLike<unknown> | null)?.then === 'function') {
        const of = callsOf();
        // Registered before the chain subscribes to `returned`: a call that ended is out of the
        // set before the chain can settle on its value, so only a call still running is stopped.
        const ended: Promise<void> = Promise.resolve(returned).then(
          () => void of.delete(ended),
          () => void of.delete(ended),
        );
        of.add(ended);
      }
      return returned;
    };
    // Interceptors, pipes and Reflector read the handler's metadata, and getHandler() its name.
    for (const key of Reflect.getOwnMetadataKeys(method)) {
      Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, method), this.callback);
    }
    Object.defineProperty(this.callback, 'name', { value: method.name });
  }

  /**
   * Settles as `chained` does, once every handler call of the run `ctx` has ended. A run whose
   * handler call was refused for its abort settles with that abort, whatever the chain answers:
   * an interceptor that maps errors to a fallback value (catchError) would otherwise complete,
   * after a lost lease or at shutdown (whose runs are settled on what they finished with), a task
   * whose handler never ran.
   */
  async settleAfter(ctx: unknown, chained: unknown): Promise<unknown> {
    let failed: { readonly error: unknown } | undefined;
    try {
      const value = await this.unlessAborted(ctx, chained);
      if (ctx !== null && typeof ctx === 'object' && this.refusedRuns.has(ctx))
        throw (ctx as TaskContext).signal.reason;
      return value;
    } catch (error) {
      failed = { error };
      throw error;
    } finally {
      const running = this.calls.get(ctx as object);
      this.calls.delete(ctx as object);
      if (ctx !== null && typeof ctx === 'object') this.endedRuns.add(ctx);
      if (running?.size) {
        askHandlerToStop(ctx, gaveUp(failed));
        await Promise.all(running);
      }
    }
  }

  /**
   * `chained`; or, once the run is aborted (timed out, superseded, cancelled) and none of its
   * handler calls runs, its abort: an interceptor whose Observable never completes (it forwards
   * values but not completion, or never calls next.handle()) would hold the run and its slot for
   * good. Given a turn of the event loop first: a chain that settles on the value of a handler
   * that just returned does so within microtasks, and keeps that value. A lost lease is no
   * verdict: the chain is waited for (an interceptor may still work after its handler returned,
   * an audit write say), so a finished run is settled and Redis's fence decides; left pending,
   * it would run again once the beats came back.
   */
  private unlessAborted(ctx: unknown, chained: unknown): Promise<unknown> {
    const signal = (ctx as Partial<TaskContext> | null)?.signal;
    if (!(signal instanceof AbortSignal)) return Promise.resolve(chained);
    return new Promise((resolve, reject) => {
      const onAbort = async () => {
        if (signal.reason instanceof LeaseLostError) return;
        for (let running = this.calls.get(ctx as object); running?.size; running = this.calls.get(ctx as object)) {
          await Promise.all(running);
        }
        setImmediate(() => reject(signal.reason));
      };
      if (signal.aborted) void onAbort();
      else signal.addEventListener('abort', () => void onAbort(), { once: true });
      Promise.resolve(chained).then(resolve, reject);
    });
  }
}

/** The reason a handler's signal aborts with when the chain settled first: what it settled with. */
function gaveUp(failed: { readonly error: unknown } | undefined): InterceptorGaveUpError {
  if (!failed) {
    return new InterceptorGaveUpError(
      'An interceptor answered for the handler before it returned: the run completes with that answer once the handler returns.',
    );
  }
  const { name, message } = describeThrown(failed.error);
  return new InterceptorGaveUpError(
    `An interceptor gave up on the handler (${name}: ${message}) before it returned: the run fails with that error once the handler returns.`,
    { cause: failed.error },
  );
}

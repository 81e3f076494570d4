/**
 * @internal The method of a run's TaskContext that records whether its handler was called. The
 * runner counts a run with interceptors as started when it enters the chain; an interceptor may
 * hold it before next.handle() (a semaphore of its own) until its abort refuses the call, and a
 * run let go unstarted gives its delivery back (see giveBackUnstarted). A registered symbol, as
 * STOP_HANDLER is, for a context made by another copy of the package.
 */
export const HANDLER_CALLED = Symbol.for('nest-stream-queue:handler-called');

interface NotedContext {
  [HANDLER_CALLED]?: (called: boolean) => void;
}

/** @internal Records on the run `ctx` whether its handler was called; another context is left alone. */
export function noteHandlerCall(ctx: unknown, called: boolean): void {
  (ctx as NotedContext | null)?.[HANDLER_CALLED]?.(called);
}

/**
 * @internal The method of a run's TaskContext that aborts its `signal` without changing the run's
 * outcome (see Delivery.askHandlerToStop). A registered symbol, so the TaskEnhancers of one copy
 * of the package finds it on a context made by another.
 */
export const STOP_HANDLER = Symbol.for('nest-stream-queue:stop-handler');

/** @internal A context a run's handler was called with, from the runner or from anyone else. */
interface StoppableContext {
  [STOP_HANDLER]?: (reason: unknown) => void;
}

/** @internal Aborts the signal of the run `ctx`; a context the runner did not make is left alone. */
export function askHandlerToStop(ctx: unknown, reason: unknown): void {
  (ctx as StoppableContext | null)?.[STOP_HANDLER]?.(reason);
}

/**
 * Options of one `enqueue()`.
 * @publicApi
 */
export interface EnqueueOptions {
  /** Idempotency key: while a run of this key is queued, delayed or running, enqueue returns it. */
  key?: string;
  /** Run no earlier than this many milliseconds from now (Redis's clock). */
  delayMs?: number;
  /** Queue to use when this process has no handler for the task. Default `default`. */
  queue?: string;
}

/** One item of `enqueueMany()`. @publicApi */
export interface EnqueueItem<P = unknown> {
  name: string;
  payload: P;
  options?: EnqueueOptions;
}

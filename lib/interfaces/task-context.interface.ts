/**
 * What a handler knows about the run it is executing.
 * @publicApi
 */
export interface TaskContext {
  /** Stable task id, the same across attempts. */
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  /** Task key, when enqueued with one. */
  readonly key: string | undefined;
  /** Generation of the key this run belongs to; 0 for tasks without a key. */
  readonly generation: number;
  /** 1 for the first run, 2 for the first retry, ... */
  readonly attempt: number;
  /**
   * Identifies this delivery: `<stream entry id>/<consumer>`. Writes made elsewhere can be
   * made conditional on it, since a reclaimed run gets a new token.
   */
  readonly fencingToken: string;
  /**
   * A fencing number that only grows: for a keyed task, across every run of its key
   * (generations, retries, takeovers: drawn from the queue's sequence in Redis when the run is
   * claimed); for a task without a key, across the runs of this task (attempt, then delivery).
   * A later run always has a larger number than any earlier one, so writes to your own store
   * can be made conditional: `UPDATE ... SET ..., fence = $n WHERE id = $id AND fence < $n`.
   */
  readonly fence: number;
  /**
   * Aborted on timeout, when the lease is lost, at the shutdown deadline, when the run is
   * superseded (`replace()` of its key, a re-timed schedule) and when it is cancelled
   * (`cancel()`, `unschedule()`). Its `reason` says which.
   */
  readonly signal: AbortSignal;
  /**
   * When this run started, in ms on Redis's clock (epoch), for a task under `rateLimit` or
   * `groupRateLimit`: the time its start was counted in the rate windows. Undefined otherwise.
   */
  readonly startedAt?: number;
}

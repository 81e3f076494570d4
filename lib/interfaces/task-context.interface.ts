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
  /** Aborted on timeout, when the lease is lost, and at the shutdown deadline. */
  readonly signal: AbortSignal;
}

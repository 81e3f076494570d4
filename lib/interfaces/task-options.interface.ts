import type { BackoffOptions } from './backoff-options.interface';

/**
 * Options of a `@Task()` handler.
 * @publicApi
 */
export interface TaskOptions {
  /** Queue (Redis stream) the task lives on. Default `default`. */
  queue?: string;
  /** Total runs before the task is dead-lettered. Default 3. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  /** Aborts `ctx.signal` and fails the attempt after this long. Default: no timeout. */
  timeoutMs?: number;
  /** How long the result stays readable; 0 keeps none. Default: the module's `resultTtlMs`. */
  resultTtlMs?: number;
}

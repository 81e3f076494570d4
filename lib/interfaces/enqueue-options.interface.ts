import type { DurabilityOptions } from './durability-options.interface';

/**
 * Options of one `enqueue()`.
 * @publicApi
 */
export interface EnqueueOptions {
  /** Idempotency key: while a run of this key is queued, delayed or running, enqueue returns it. */
  key?: string;
  /** Run no earlier than this many milliseconds from now (Redis's clock). */
  delayMs?: number;
  /** Run no earlier than this time (a Date or epoch milliseconds). Exclusive with `delayMs`. */
  runAt?: Date | number;
  /**
   * Queue of the task, when given. Default: the queue of the task's `@Task()` when this process
   * has its handler, else `default` (a producer-only process must name the queue of a task
   * defined on another one). A task with limits (`globalConcurrency`, `rateLimit`, ...) takes
   * only its own queue: its limits are counted there.
   */
  queue?: string;
  /**
   * Resolve only once this many replicas have the task (Redis WAIT); default: the module's
   * `durability`, else none. Not accepted by `enqueueMany()`.
   */
  durability?: DurabilityOptions;
  /**
   * Flow control's group (a tenant, a customer): `groupConcurrency` counts per group, and
   * waiting groups are served in turn. 1 to 256 characters. Default: the ungrouped group. On a
   * partitioned queue it picks the task's partition: every task of a group goes to one (an
   * ungrouped task whose `@Task` has no group limit goes round robin instead).
   */
  group?: string;
  /**
   * 1 (most urgent) to 10, default 5: among tasks waiting for a slot of their group, a more
   * urgent one starts first; each level weighs `priorityAgingMs`, so the least urgent still
   * progresses. Orders only tasks that wait for a limit, within their (task, group) and the
   * partition they wait in.
   */
  priority?: number;
}

/** Options of `replace()`: a key is required, and an `every` task can be re-timed. @publicApi */
export interface ReplaceOptions extends EnqueueOptions {
  key: string;
  /** New period of a periodic key (milliseconds or '30s'); its next slots follow it. */
  every?: number | string;
}

/** One item of `enqueueMany()`. @publicApi */
export interface EnqueueItem<P = unknown> {
  name: string;
  payload: P;
  options?: EnqueueOptions;
}

/**
 * The flow scenario's task: its name and limits, shared by the worker (which runs it) and the
 * producer (whose enqueues carry the limits only if it has the task's definition too).
 */
export const FLOW_TASK = 'chaos.flow';

/**
 * Slots, and rate windows short enough to bind: the flooding group (40% of the tasks) is held to
 * 3 starts per 300 ms, and the task to 12 per 200 ms, below what its 6 slots could start.
 */
export const FLOW_LIMITS = {
  globalConcurrency: 6,
  groupConcurrency: 2,
  rateLimit: { max: 12, perMs: 200 },
  groupRateLimit: { max: 3, perMs: 300 },
} as const;

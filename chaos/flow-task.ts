/**
 * The flow scenario's task: its name and limits, shared by the worker (which runs it) and the
 * producer (whose enqueues carry the limits only if it has the task's definition too).
 */
export const FLOW_TASK = 'chaos.flow';

export const FLOW_LIMITS = { globalConcurrency: 6, groupConcurrency: 2 } as const;

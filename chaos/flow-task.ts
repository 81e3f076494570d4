/**
 * The flow scenarios' task: its name and limits, shared by the worker (which runs it) and the
 * producer (whose enqueues carry the limits only if it has the task's definition too). A scenario
 * picks the limits; its workers get them in FLOW_LIMITS (JSON), its producer as an argument.
 */
import type { FlowLimits } from './flow-analysis';

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
} as const satisfies FlowLimits;

/**
 * The same limits on a queue of 3 partitions, with task limits that do not divide by 3, so the
 * partitions' shares differ (lib/task/flow-limits.ts partitionShare): 7 slots as 3 + 2 + 2, 13
 * starts per 200 ms as 5 + 4 + 4. Group limits stay whole (a group lives in one partition).
 */
export const PARTITIONED_FLOW_LIMITS = {
  ...FLOW_LIMITS,
  globalConcurrency: 7,
  rateLimit: { max: 13, perMs: 200 },
} as const satisfies FlowLimits;

/** The worker's environment variable carrying the flow task's limits. */
export const FLOW_LIMITS_ENV = 'FLOW_LIMITS';

/** The flow task's limits in a worker process: FLOW_LIMITS (JSON) if set, else the flow scenario's. */
export function flowLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): FlowLimits {
  const json = env[FLOW_LIMITS_ENV];
  return json ? (JSON.parse(json) as FlowLimits) : FLOW_LIMITS;
}

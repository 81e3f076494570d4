import type { FlowLimits } from '../scripts/enqueue-flow.script';
import type { ResolvedTaskOptions } from './resolved-task-options';

/**
 * @internal A task's concurrency and rate limits as the flow scripts record them (0 = none), or
 * undefined when it has none: what an enqueue records, and what a worker admits a plain entry under.
 */
export function flowLimitsOf(options: ResolvedTaskOptions, agingMs: number): FlowLimits | undefined {
  if (!hasFlowLimits(options)) return undefined;
  const { globalConcurrency, groupConcurrency, rateLimit, groupRateLimit } = options;
  return {
    global: globalConcurrency ?? 0,
    group: groupConcurrency ?? 0,
    agingMs,
    ...(rateLimit ? { rate: rateLimit } : {}),
    ...(groupRateLimit ? { groupRate: groupRateLimit } : {}),
  };
}

/** @internal Whether the task is under flow control (a concurrency or rate limit). */
export function hasFlowLimits(options: ResolvedTaskOptions): boolean {
  const { globalConcurrency, groupConcurrency, rateLimit, groupRateLimit } = options;
  return [globalConcurrency, groupConcurrency, rateLimit, groupRateLimit].some((l) => l !== undefined);
}

import type { FlowLimits } from '../scripts/enqueue-flow.script';
import type { ResolvedTaskOptions } from './resolved-task-options';

/**
 * @internal A task's concurrency and rate limits as the flow scripts record them (0 = none), or
 * undefined when it has none: what an enqueue records, and what a worker admits a plain entry under.
 */
export function flowLimitsOf(options: ResolvedTaskOptions, agingMs: number): FlowLimits | undefined {
  const { globalConcurrency, groupConcurrency, rateLimit, groupRateLimit } = options;
  if ([globalConcurrency, groupConcurrency, rateLimit, groupRateLimit].every((l) => l === undefined)) return undefined;
  return {
    global: globalConcurrency ?? 0,
    group: groupConcurrency ?? 0,
    agingMs,
    ...(rateLimit ? { rate: rateLimit } : {}),
    ...(groupRateLimit ? { groupRate: groupRateLimit } : {}),
  };
}

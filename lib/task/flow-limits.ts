import type { FlowLimits } from '../scripts/enqueue-flow.script';
import type { ResolvedTaskOptions } from './resolved-task-options';

/**
 * @internal A task's concurrency and rate limits as partition `partition` of its queue's `count`
 * records them (0 = none), or undefined when it has none: what an enqueue into that partition
 * records, and what a worker admits a plain entry there under. The task's own limits
 * (globalConcurrency, rateLimit.max) are split into a fixed share per partition (partitionShare):
 * a partition's admissions are one atomic step in its slot, and none spans two, so the fleet
 * stays within the whole limit by each partition staying within its share. Group limits stay
 * whole: a group's tasks all go to one partition (partitionOfGroup).
 */
export function flowLimitsOf(
  options: ResolvedTaskOptions,
  agingMs: number,
  partition: number,
  count: number,
): FlowLimits | undefined {
  if (!hasFlowLimits(options)) return undefined;
  const { globalConcurrency, groupConcurrency, rateLimit, groupRateLimit } = options;
  return {
    global: globalConcurrency === undefined ? 0 : partitionShare(globalConcurrency, partition, count),
    group: groupConcurrency ?? 0,
    agingMs,
    ...(rateLimit ? { rate: { max: partitionShare(rateLimit.max, partition, count), perMs: rateLimit.perMs } } : {}),
    ...(groupRateLimit ? { groupRate: groupRateLimit } : {}),
  };
}

/**
 * @internal Partition `partition`'s share of a limit `limit` over `count` partitions:
 * floor(limit / count), one more for the first `limit mod count` partitions. The shares sum to
 * the limit; each is at least 1 when the limit is at least the count (resolveTaskOptions
 * refuses a smaller one).
 */
export function partitionShare(limit: number, partition: number, count: number): number {
  return Math.floor(limit / count) + (partition < limit % count ? 1 : 0);
}

/** @internal Whether the task is under flow control (a concurrency or rate limit). */
export function hasFlowLimits(options: ResolvedTaskOptions): boolean {
  const { globalConcurrency, groupConcurrency, rateLimit, groupRateLimit } = options;
  return [globalConcurrency, groupConcurrency, rateLimit, groupRateLimit].some((l) => l !== undefined);
}

/**
 * @internal Whether the task has a group limit (groupConcurrency or groupRateLimit): its
 * ungrouped tasks are one group, counted in that group's partition only (partitionOfGroup).
 */
export function hasGroupLimit(options: ResolvedTaskOptions): boolean {
  return options.groupConcurrency !== undefined || options.groupRateLimit !== undefined;
}

/** @internal hasGroupLimit read off the limits a partition records (flowLimitsOf's result). */
export function holdsGroupLimit(limits: Pick<FlowLimits, 'group' | 'groupRate'>): boolean {
  return limits.group > 0 || limits.groupRate !== undefined;
}

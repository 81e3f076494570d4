/**
 * The drain under flow control (issue 11), against the plain `sq` drain of the same round:
 *   sq-limit   the task declares a globalConcurrency as large as the prefill: it never binds (a
 *              prefilled task holds its slot from its enqueue, so a limit of, say, 10× the worker's
 *              concurrency would bind at the prefill and make most tasks wait), so what is measured
 *              is the cost of admission and release alone;
 *   sq-groups  tasks spread over FLOW_GROUPS groups under groupConcurrency 2: at the start only two
 *              per group (200 of the prefill) are in the stream, and each settle admits the next.
 * Both enqueue through enqueue-flow.lua (a script call per task), in the prefill, outside the window.
 */
import type { EnqueueOptions, TaskOptions } from '../lib';
import type { SideName } from './scenario';

export const FLOW_GROUPS = 100;
export const GROUP_CONCURRENCY = 2;

/** The flow sides, in the order the report lists them. */
export const FLOW_SIDES = ['sq-limit', 'sq-groups'] as const satisfies readonly SideName[];

/** Options of the bench's @Task for this side (none for the plain sides); `tasks` is the prefill. */
export function flowTaskOptions(side: SideName, tasks: number): TaskOptions {
  if (side === 'sq-limit') return { globalConcurrency: Math.max(1, tasks) };
  if (side === 'sq-groups') return { groupConcurrency: GROUP_CONCURRENCY };
  return {};
}

/** Enqueue options of task number `i` for this side. */
export function flowEnqueueOptions(side: SideName, i: number): EnqueueOptions | undefined {
  return side === 'sq-groups' ? { group: `g${((i % FLOW_GROUPS) + FLOW_GROUPS) % FLOW_GROUPS}` } : undefined;
}

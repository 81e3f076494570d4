/**
 * The drain under flow control (issue 11), against the plain `sq` drain of the same round:
 *   sq-limit   the task declares a globalConcurrency as large as the prefill: it never binds (a
 *              prefilled task holds its slot from its enqueue, so a limit of, say, 10× the worker's
 *              concurrency would bind at the prefill and make most tasks wait), so what is measured
 *              is the cost of admission and release alone;
 *   sq-groups  tasks spread over FLOW_GROUPS groups under groupConcurrency 2: at the start only two
 *              per group (200 of the prefill) are in the stream, and each settle admits the next.
 *   sq-rate    a drain of RATE_WINDOWS windows' worth under rateLimit RATE (the prefill is cut to
 *              that): measured is the start rate achieved against the configured one.
 * All enqueue through enqueue-flow.lua (a script call per task), in the prefill, outside the window.
 */
import type { EnqueueOptions, TaskOptions } from '../lib';
import type { RateFigures, SideName } from './scenario';

export const FLOW_GROUPS = 100;
export const GROUP_CONCURRENCY = 2;

/** The flow sides, in the order the report lists them. */
export const FLOW_SIDES = ['sq-limit', 'sq-groups', 'sq-rate'] as const satisfies readonly SideName[];

/** sq-rate's limit, and how many windows' worth of tasks its drain has. */
export const RATE = { max: 1_000, perMs: 1_000 } as const;
export const RATE_WINDOWS = 10;

/** Options of the bench's @Task for this side (none for the plain sides); `tasks` is the prefill. */
export function flowTaskOptions(side: SideName, tasks: number): TaskOptions {
  if (side === 'sq-limit') return { globalConcurrency: Math.max(1, tasks) };
  if (side === 'sq-groups') return { groupConcurrency: GROUP_CONCURRENCY };
  if (side === 'sq-rate') return { rateLimit: RATE };
  return {};
}

/** The drain's task count for this side: sq-rate drains RATE_WINDOWS windows' worth. */
export function flowDrainTasks(side: SideName, tasks: number): number {
  return side === 'sq-rate' ? RATE.max * RATE_WINDOWS : tasks;
}

/**
 * The start rate achieved, honestly: each start is paired with the start `max` places after it
 * (the first one a full window allows after it); the mean of those gaps is how long the limiter
 * took per window's worth of starts, whatever the shape (bursts at each window's opening, or
 * an even trickle). Achieved = max starts per that mean gap, scaled to perMs: exactly max for a
 * limiter that starts each task the moment the window allows, less for one that lags. The gaps
 * are summed over the whole drain, so a lag in any window counts. Also the most starts in any
 * interval of perMs, which the limit bounds.
 */
export function achievedRate(starts: number[], max: number, perMs: number): RateFigures {
  const s = [...starts].sort((a, b) => a - b);
  let gaps = 0;
  for (let i = max; i < s.length; i++) gaps += s[i] - s[i - max];
  const pairs = Math.max(0, s.length - max);
  let most = 0;
  for (let i = 0, j = 0; i < s.length; i++) {
    while (s[i] - s[j] >= perMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return {
    max,
    perMs,
    achievedPerWindow: pairs && gaps ? (max * perMs) / (gaps / pairs) : 0,
    mostInWindow: most,
    starts: s.length,
    spanMs: s.length ? s[s.length - 1] - s[0] : 0,
  };
}

/** Enqueue options of task number `i` for this side. */
export function flowEnqueueOptions(side: SideName, i: number): EnqueueOptions | undefined {
  return side === 'sq-groups' ? { group: `g${((i % FLOW_GROUPS) + FLOW_GROUPS) % FLOW_GROUPS}` } : undefined;
}

/**
 * The queues a schedule runs against. `classic` is a queue of one partition, as the explorer
 * always explored it. `grow` and `shrink` are partitioned queues whose count an operator changes
 * during the schedule (2 -> 3 and 3 -> 2), with client processes that map keys with the old count
 * (stale) or the new one (fresh), and two consumers per partition. `flow` is a queue of one
 * partition whose task is under flow control (concurrency limits, groups, priority). `rate` is
 * the same queue with rate limits besides the slots: rateLimit 2 per 2 x ELAPSE_MS and
 * groupRateLimit 1 per ELAPSE_MS. Schedules do not control Redis's clock: the windows are far
 * longer than a schedule, so nothing leaves them on its own, and the step `elapse` makes
 * ELAPSE_MS pass for them (explore/rate-steps.ts): a group window's starts leave it after one,
 * a task window's after two. `flow-partitioned` is flow control on a queue of 2 partitions whose
 * count an operator changes to 3 during the schedule, as `grow` does: groupConcurrency 1 and
 * groupRateLimit 1 per ELAPSE_MS (the options a partitioned queue takes), over groups that map
 * to different partitions under both counts (partitionOfGroup: g1 0 -> 2, g2 1 -> 0, g6 1 -> 1;
 * the ungrouped group's plain entries 0 -> 1), stale and fresh producers, and workers that record
 * the limits at their start and map the count they were deployed with (the old one for the
 * partitions of the old count, the new one for the partition it adds). `shares` is the task's
 * own limits on a queue of 2 partitions whose count stays: globalConcurrency 3 and rateLimit 3
 * per 2 x ELAPSE_MS, each partition enforcing its share (flowLimitsOf: 2 in p0, 1 in p1), no
 * group limit, so an ungrouped enqueue goes to either partition (a producer's turn) and groups
 * to theirs (g1 to p0, g2 and g6 to p1); the fleet must stay within the whole limits.
 */
export interface WorldShape {
  readonly name: string;
  /** Task keys the schedules use; each snapshot reads their states in every partition. */
  readonly keys: readonly string[];
  readonly workersPerPartition: number;
  /**
   * Its random schedules run this many times --steps: a flow task settles after six steps of
   * one of its partition's workers, and a late count change needs them settled.
   */
  readonly stepsScale?: number;
  readonly countChange?: { readonly from: number; readonly to: number };
  /** A partitioned queue whose count stays: its partitions record it from the start. */
  readonly partitions?: number;
  /**
   * Flow control: the task's limits (@Task globalConcurrency, groupConcurrency) and its groups.
   * With a count change, each group's tasks go to its partition (partitionOfGroup) under the
   * enqueuing process's count, and workers admit plain entries of the task (enter-admission.lua).
   */
  readonly flow?: FlowShape;
}

export interface FlowShape {
  readonly global: number;
  readonly group: number;
  readonly groups: readonly string[];
  /** @Task rateLimit and groupRateLimit: at most `max` starts in any `perMs`. */
  readonly rate?: RateShape;
  readonly groupRate?: RateShape;
  /** A second task (OTHER_TASK) under these slot limits, in the same groups, without rates. */
  readonly other?: { readonly global: number; readonly group: number };
}

export interface RateShape {
  readonly max: number;
  readonly perMs: number;
}

/** The time one `elapse` step makes pass for the rate windows: far beyond a schedule's real duration. */
export const ELAPSE_MS = 100_000_000;

export const WORLDS: Record<string, WorldShape> = {
  classic: { name: 'classic', keys: ['k1', 'k2'], workersPerPartition: 3 },
  // Under FNV-1a: k1 moves between partitions 1 and 0, k2 stays in 0, k3 moves between 1 and 2.
  grow: { name: 'grow', keys: ['k1', 'k2', 'k3'], workersPerPartition: 2, countChange: { from: 2, to: 3 } },
  shrink: { name: 'shrink', keys: ['k1', 'k2', 'k3'], workersPerPartition: 2, countChange: { from: 3, to: 2 } },
  // A task under flow control takes no key: the keyed steps have nothing to do here.
  flow: { name: 'flow', keys: [], workersPerPartition: 3, flow: { global: 2, group: 1, groups: ['g1', 'g2', 'g3'] } },
  // Two tasks in one room and ring: job's global slot (1) binds across its groups, so its pairs
  // wait for it while rush's settles and waits feed (job's pairs park for its slot).
  mixed: {
    name: 'mixed',
    keys: [],
    workersPerPartition: 3,
    flow: { global: 1, group: 1, groups: ['g1', 'g2', 'g3'], other: { global: 0, group: 1 } },
  },
  // Slots that bind less often than the tokens: globalConcurrency 3 lets the task window (2) bind
  // across groups, groupConcurrency 1 and the group window (1) bind together.
  rate: {
    name: 'rate',
    keys: [],
    workersPerPartition: 3,
    flow: {
      global: 3,
      group: 1,
      groups: ['g1', 'g2', 'g3'],
      rate: { max: 2, perMs: 2 * ELAPSE_MS },
      groupRate: { max: 1, perMs: ELAPSE_MS },
    },
  },
  // A partitioned queue takes groupConcurrency and groupRateLimit only (no global limit, no
  // priority). g1 moves 0 -> 2, g2 1 -> 0, g6 stays in 1: a group's slots, room and window must
  // never be split across partitions, and the switch must wait for all of them to be empty.
  'flow-partitioned': {
    name: 'flow-partitioned',
    keys: [],
    workersPerPartition: 2,
    stepsScale: 2,
    countChange: { from: 2, to: 3 },
    flow: { global: 0, group: 1, groups: ['g1', 'g2', 'g6'], groupRate: { max: 1, perMs: ELAPSE_MS } },
  },
  // The task's own limits split into unequal shares (3 over 2 partitions: 2 and 1), the slots and
  // the window each binding across groups of both partitions and ungrouped tasks of either ('').
  shares: {
    name: 'shares',
    keys: [],
    workersPerPartition: 2,
    stepsScale: 2,
    partitions: 2,
    flow: { global: 3, group: 0, groups: ['g1', 'g2', 'g6', ''], rate: { max: 3, perMs: 2 * ELAPSE_MS } },
  },
};

/** Connections the largest world needs for its consumers. */
export const MAX_WORKERS = 6;

export function partitionCount(shape: WorldShape): number {
  return shape.countChange ? Math.max(shape.countChange.from, shape.countChange.to) : (shape.partitions ?? 1);
}

export function worldNamed(name: string | undefined): WorldShape {
  const shape = WORLDS[name ?? 'classic'];
  if (!shape) throw new Error(`--world: one of ${Object.keys(WORLDS).join(', ')}, got ${name}`);
  return shape;
}

/**
 * The flow scenario's findings: the most runs of the flow task at any instant, globally and per
 * group, against its limits; and whether every group progressed (the wait of each group's first
 * task, the longest wait of any task, groups whose tasks never started).
 *
 * A run counts from its logged start (after its admission) to its logged end (before its settle
 * releases the slot), so a correct library never shows more than the limit. A run without an end
 * ends when its worker was SIGKILLed or exited (analysis.ts, toRun). A slot belongs to a task id,
 * not to a run: a run whose task started again elsewhere (its worker killed, stalled past
 * maxStallMs, or cut off past its lease) stops counting at that later start, since from then on
 * the slot is the later run's and the earlier one is presumed dead (README, "Flow control": a
 * zombie's late settle is refused and releases nothing). Two runs of one task at once are the
 * overlap analysis's business (analysis.ts), classified there.
 *
 * On a partitioned queue the limits checked are the fleet's, over every partition's runs at once:
 * globalConcurrency and rateLimit as the task declares them (the library splits them into
 * per-partition shares; their sum must hold), group limits whole. Per partition it also reports
 * the tasks that landed there (by their id's suffix) and its most runs at once beside its share.
 */
import { toRun, type Run } from './analysis';
import type { WorkerSlot } from './arena';
import type { LedgerDump } from './ledger';
import { partitionOfTaskId } from '../lib/partitions/task-ids';
import { partitionShare } from '../lib/task/flow-limits';

export interface FlowLimits {
  readonly globalConcurrency: number;
  readonly groupConcurrency: number;
  readonly rateLimit?: { readonly max: number; readonly perMs: number };
  readonly groupRateLimit?: { readonly max: number; readonly perMs: number };
}

/** The most starts (ctx.startedAt, Redis's clock) in any interval of a rate limit's perMs. */
export interface RateFinding {
  readonly n: number;
  readonly group: string;
  /** Redis ms of the first start of that interval. */
  readonly at: number;
  /** Starts checked (every run's start, restarts included). */
  readonly starts: number;
  /** Runs of the flow task whose start time was missing: each one is a violation. */
  readonly unstamped: number;
}

export interface FlowFindings {
  readonly limits: FlowLimits;
  readonly groups: number;
  readonly runs: number;
  /** Runs that stopped counting at a later start of their task (killed, stalled, cut off). */
  readonly cutAtTakeover: number;
  readonly mostGlobal: { n: number; at: number };
  readonly mostInGroup: { n: number; group: string; at: number };
  /** Each excursion over a limit: what was running at that instant (at most a few). */
  readonly violations: string[];
  /** The longest wait, enqueue acknowledged to first start, of a group's first task. */
  readonly firstTaskWait: { ms: number; group: string };
  readonly taskWait: { maxMs: number; group: string; p50: number; p99: number };
  /** Groups with acknowledged tasks of which none ever started. */
  readonly starved: string[];
  /** Starts per window against rateLimit (the task) and groupRateLimit (its worst group). */
  readonly rate?: RateFinding;
  readonly groupRate?: RateFinding;
  /** Per partition of the queue (one entry on a queue of one partition). */
  readonly partitions: PartitionFinding[];
}

export interface PartitionFinding {
  /** Acknowledged flow tasks whose id names this partition. */
  readonly tasks: number;
  /** Their groups. */
  readonly groups: number;
  readonly runs: number;
  readonly mostAtOnce: number;
  /** Its share of globalConcurrency (lib/task/flow-limits.ts partitionShare): for the report. */
  readonly share: number;
}

export interface FlowInput {
  dump: LedgerDump;
  slots: readonly WorkerSlot[];
  limits: FlowLimits;
  /** Flow task id -> group, and when its enqueue was acknowledged. */
  enqueued: ReadonlyMap<string, { group: string; ackedAt: number }>;
  /** The queue's partition count (default 1). */
  partitions?: number;
  now: number;
}

const MAX_EVIDENCE = 3;

export function analyzeFlow(input: FlowInput): FlowFindings {
  const { dump, limits, enqueued } = input;
  const slotOf = new Map(input.slots.map((s) => [s.name, s]));
  const runs = dump.starts
    .filter((s) => s.grp !== undefined)
    .map((s) => toRun(s, dump, slotOf.get(s.w), input.now))
    .sort((a, b) => a.start - b.start);
  const { counted, cut } = countedIntervals(runs);

  // Sweep: at one timestamp, ends go before starts (an end is logged before the settle that frees
  // the slot, a start after the admission that takes it).
  const events = counted.flatMap(({ run, end }) => [
    { ts: run.start, d: 1, run },
    { ts: end, d: -1, run },
  ]);
  events.sort((a, b) => a.ts - b.ts || a.d - b.d);
  const open = new Set<Run>();
  const inGroup = new Map<string, number>();
  const partitionCount = input.partitions ?? 1;
  const inPartition = Array.from({ length: partitionCount }, () => 0);
  const mostInPartition = Array.from({ length: partitionCount }, () => 0);
  let mostGlobal = { n: 0, at: 0 };
  let mostInGroup = { n: 0, group: '', at: 0 };
  const violations: string[] = [];
  const evidence = (what: string, ts: number, members: Run[]) => {
    if (violations.length >= MAX_EVIDENCE) return;
    const list = members.map(
      (r) => `${r.worker} ${r.id.slice(0, 8)} ${r.group} a${r.attempt} ${r.start}..${r.end} ${r.how}`,
    );
    violations.push(`${what} at ${ts}: ${list.join('; ')}`);
  };
  for (const e of events) {
    const group = e.run.group!;
    const n = (inGroup.get(group) ?? 0) + e.d;
    inGroup.set(group, n);
    const p = partitionOfTaskId(e.run.id);
    inPartition[p] += e.d;
    mostInPartition[p] = Math.max(mostInPartition[p], inPartition[p]);
    if (e.d < 0) {
      open.delete(e.run);
      continue;
    }
    open.add(e.run);
    if (open.size > mostGlobal.n) mostGlobal = { n: open.size, at: e.ts };
    if (n > mostInGroup.n) mostInGroup = { n, group, at: e.ts };
    if (open.size > limits.globalConcurrency) evidence(`${open.size} runs at once`, e.ts, [...open]);
    if (n > limits.groupConcurrency)
      evidence(
        `${n} runs of group ${group} at once`,
        e.ts,
        [...open].filter((r) => r.group === group),
      );
  }

  const flowStarts = dump.starts.filter((s) => s.grp !== undefined);
  const rate = limits.rateLimit && mostStarts(flowStarts, limits.rateLimit.perMs, () => '');
  const groupRate = limits.groupRateLimit && mostStarts(flowStarts, limits.groupRateLimit.perMs, (s) => s.grp!);
  for (const [finding, limit, what] of [
    [rate, limits.rateLimit, 'rateLimit'],
    [groupRate, limits.groupRateLimit, 'groupRateLimit'],
  ] as const) {
    if (!finding || !limit) continue;
    if (finding.n > limit.max && violations.length < MAX_EVIDENCE) {
      violations.push(
        `${what}: ${finding.n} starts${finding.group ? ` of group ${finding.group}` : ''} within ${limit.perMs} ms of Redis time from ${finding.at} (limit ${limit.max})`,
      );
    }
    if (finding.unstamped > 0 && violations.length < MAX_EVIDENCE) {
      violations.push(`${what}: ${finding.unstamped} run(s) without ctx.startedAt`);
    }
  }

  return {
    rate,
    groupRate,
    limits,
    groups: new Set([...enqueued.values()].map((t) => t.group)).size,
    runs: runs.length,
    cutAtTakeover: cut,
    mostGlobal,
    mostInGroup,
    violations,
    ...waits(runs, enqueued),
    partitions: mostInPartition.map((mostAtOnce, p) => {
      const mine = [...enqueued].filter(([id]) => partitionOfTaskId(id) === p);
      return {
        tasks: mine.length,
        groups: new Set(mine.map(([, t]) => t.group)).size,
        runs: runs.filter((r) => partitionOfTaskId(r.id) === p).length,
        mostAtOnce,
        share: partitionShare(limits.globalConcurrency, p, partitionCount),
      };
    }),
  };
}

/**
 * The most starts in any interval of `perMs` per scope (`scopeOf`: '' for the task, the group for
 * a group window), by their Redis-clock start times: each start opens a candidate interval.
 */
function mostStarts(
  starts: readonly { rs?: number; grp?: string }[],
  perMs: number,
  scopeOf: (s: { grp?: string }) => string,
): RateFinding {
  const byScope = new Map<string, number[]>();
  let unstamped = 0;
  for (const s of starts) {
    if (s.rs === undefined) {
      unstamped++;
      continue;
    }
    const scope = scopeOf(s);
    const list = byScope.get(scope);
    if (list) list.push(s.rs);
    else byScope.set(scope, [s.rs]);
  }
  let most = { n: 0, group: '', at: 0 };
  for (const [group, times] of byScope) {
    times.sort((a, b) => a - b);
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i] - times[j] >= perMs) j++;
      if (i - j + 1 > most.n) most = { n: i - j + 1, group, at: times[j] };
    }
  }
  return { ...most, starts: starts.length - unstamped, unstamped };
}

/** Each run's counted interval: to its end, or to the next start of its task if that is earlier. */
function countedIntervals(runs: Run[]): { counted: { run: Run; end: number }[]; cut: number } {
  const byTask = new Map<string, Run[]>();
  for (const r of runs) {
    const list = byTask.get(r.id);
    if (list) list.push(r);
    else byTask.set(r.id, [r]);
  }
  let cut = 0;
  const counted = runs.map((run) => {
    const mine = byTask.get(run.id)!; // in start order, as `runs`
    const next = mine[mine.indexOf(run) + 1];
    const later = next !== undefined && next.start < run.end;
    if (later) cut++;
    return { run, end: later ? next.start : run.end };
  });
  // A run cut at its own start time counts for nothing (and would leave the sweep unbalanced).
  return { counted: counted.filter((c) => c.end > c.run.start), cut };
}

function waits(
  runs: Run[],
  enqueued: ReadonlyMap<string, { group: string; ackedAt: number }>,
): Pick<FlowFindings, 'firstTaskWait' | 'taskWait' | 'starved'> {
  const firstStart = new Map<string, number>();
  for (const r of runs) if (!firstStart.has(r.id)) firstStart.set(r.id, r.start);
  const firstOfGroup = new Map<string, { id: string; ackedAt: number }>();
  const startedGroups = new Set<string>();
  const all: number[] = [];
  let taskMax = { ms: 0, group: '' };
  for (const [id, { group, ackedAt }] of enqueued) {
    const first = firstOfGroup.get(group);
    if (!first || ackedAt < first.ackedAt) firstOfGroup.set(group, { id, ackedAt });
    const started = firstStart.get(id);
    if (started === undefined) continue;
    startedGroups.add(group);
    // The start may be logged before the producer saw the acknowledgement.
    const ms = Math.max(0, started - ackedAt);
    all.push(ms);
    if (ms > taskMax.ms) taskMax = { ms, group };
  }
  let firstTaskWait = { ms: 0, group: '' };
  for (const [group, { id, ackedAt }] of firstOfGroup) {
    const ms = Math.max(0, (firstStart.get(id) ?? Infinity) - ackedAt);
    if (ms > firstTaskWait.ms) firstTaskWait = { ms, group };
  }
  all.sort((a, b) => a - b);
  const pct = (p: number) => (all.length === 0 ? 0 : all[Math.min(all.length - 1, Math.floor(p * all.length))]);
  return {
    firstTaskWait,
    taskWait: { maxMs: taskMax.ms, group: taskMax.group, p50: pct(0.5), p99: pct(0.99) },
    starved: [...firstOfGroup.keys()].filter((g) => !startedGroups.has(g)).sort(),
  };
}

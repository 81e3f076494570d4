/**
 * Turns what a scenario left behind (the ledger, the stored results, the worker lifecycle) into
 * findings: lost tasks, overlapping runs, duplicate side effects and settles, each explained
 * where the evidence allows.
 *
 * Overlaps are found two ways, and a pair counts once:
 * - marker: a run's start found the task's (or key's) running marker held by another run, or its
 *   end found the marker taken by another run (see ledger.ts);
 * - interval: two runs of one task id (or one key) whose [start, end] intersect, where a run
 *   without an end record ends when its worker was SIGKILLed or exited. This catches overlaps the
 *   marker misses when a run overran its marker's TTL.
 */
import type { WorkerSlot } from './arena';
import type { LedgerDump, StallRecord, StartRecord } from './ledger';

export interface Run {
  readonly token: string;
  readonly id: string;
  readonly key?: string;
  /** Flow group of a run of the flow task. */
  readonly group?: string;
  readonly worker: string;
  readonly attempt: number;
  readonly entry: string;
  readonly start: number;
  readonly end: number;
  readonly how: 'done' | 'aborted' | 'killed' | 'exited' | 'open';
}

/**
 * Why two runs overlapped: a resent unkeyed enqueue made two messages of one id; a stall past
 * maxStallMs; or wind-down: the earlier run had been aborted and had stopped (its end logged
 * before the later start) but its handler had not returned yet when the later run started (the
 * library settles an aborted run at once, not when its handler returns; see README, "Timeouts
 * and aborts").
 */
export type OverlapClass = 'unexpected' | 'duplicate-enqueue' | 'stall' | 'wind-down';

export interface Overlap {
  readonly kind: 'task' | 'key';
  readonly subject: string;
  readonly first: Run;
  readonly second: Run | undefined;
  readonly seenBy: Set<'marker' | 'interval'>;
  readonly cls: OverlapClass;
}

export interface Findings {
  lost: { id: string; why: string }[];
  overlaps: Overlap[];
  /** Task ids whose side effect ran to its end more than once; each extra run explained. */
  duplicateEffects: number;
  duplicateEffectReasons: Map<string, number>;
  /** Task ids settled (accepted by Redis) more than once. */
  duplicateSettles: number;
  duplicateSettleReasons: Map<string, number>;
  refusals: Map<string, number>;
  /**
   * Runs aborted as superseded or cancelled whose settle then counted as a failed attempt: the
   * settle found them current, so the abort hit the newest generation (replace() must stop only
   * older runs).
   */
  currentRunsAborted: number;
  /** Failed attempts (retried or dead-lettered), by error message with task-specific parts removed. */
  failures: Map<string, number>;
  /** Completed in Redis (result stored) without a 'completed' event, by reason. */
  silentCompletions: Map<string, number>;
  /** For each UNEXPLAINED case (at most a few): the task's runs, settles and refusals, for a report note. */
  unexplained: string[];
  runs: number;
  events: Record<string, number>;
  /** Longest time without any accepted settle while tasks were outstanding, and when it began. */
  longestPause: { ms: number; at: number };
}

export interface AnalysisInput {
  dump: LedgerDump;
  slots: readonly WorkerSlot[];
  /** Ids that must complete (acknowledged; for keys, each key's latest run). */
  required: readonly string[];
  completed: ReadonlySet<string>;
  /** Stored ok results: id -> worker whose settle was accepted. */
  resultWorker: ReadonlyMap<string, string>;
  deadLetters: ReadonlyMap<string, string>;
  /** Overlaps of runs on a worker that stalled past maxStallMs are expected (scenario 4b). */
  stallsExpected: boolean;
  /** When the queue's master was SIGKILLed for a failover (cluster-failover), in the ledger's clock. */
  failoverKills?: readonly number[];
  now: number;
}

export function analyze(input: AnalysisInput): Findings {
  const { dump, slots, now } = input;
  const slotOf = new Map(slots.map((s) => [s.name, s]));
  const runs = dump.starts.map((s) => toRun(s, dump, slotOf.get(s.w), now));
  const byToken = new Map(runs.map((r) => [r.token, r]));

  const unexplained: string[] = [];
  const sample = (what: string, id: string) => {
    if (unexplained.length >= 3) return;
    const t = (ts: number) => `${ts % 100_000}`;
    const parts = runs
      .filter((r) => r.id === id)
      .map((r) => `run ${r.worker} a${r.attempt} entry ${r.entry} ${t(r.start)}..${t(r.end)} ${r.how}`);
    for (const s of dump.settles.filter((x) => x.id === id)) parts.push(`settled by ${s.w} at ${t(s.ts)}`);
    for (const r of dump.refusals.filter((x) => x.id === id))
      parts.push(`refused on ${r.w} (${r.detail}) at ${t(r.ts)}`);
    const stored = input.resultWorker.get(id);
    if (stored) parts.push(`result stored by ${stored}`);
    for (const w of new Set(runs.filter((r) => r.id === id).map((r) => r.worker))) {
      const slot = slotOf.get(w);
      if (slot?.killedAt) parts.push(`${w} killed at ${t(slot.killedAt)}`);
    }
    unexplained.push(`${what} ${id}: ${parts.join('; ')}`);
  };

  const lost = input.required
    .filter((id) => !input.completed.has(id))
    .map((id) => ({ id, why: whyOpen(id, runs, input.deadLetters) }));

  const overlaps = findOverlaps(runs, dump, byToken, input.stallsExpected ? dump.stalls : []);

  const refusalsByTask = new Map<string, { w: string; detail: string }[]>();
  const refusals = new Map<string, number>();
  for (const r of dump.refusals) {
    push(refusalsByTask, r.id, { w: r.w, detail: r.detail });
    bump(refusals, r.detail);
  }
  const settlesByTask = new Map<string, string[]>();
  for (const s of dump.settles) push(settlesByTask, s.id, s.w);

  // Duplicate side effects: every 'done' run of a task but the accepted one needs a reason.
  const doneByTask = new Map<string, Run[]>();
  for (const r of runs) if (r.how === 'done') push(doneByTask, r.id, r);
  let duplicateEffects = 0;
  const duplicateEffectReasons = new Map<string, number>();
  for (const [id, done] of doneByTask) {
    if (done.length < 2) continue;
    duplicateEffects++;
    const accepted = [...done].reverse().find((r) => r.worker === input.resultWorker.get(id));
    for (const r of done) {
      if (r === accepted) continue;
      const why = explainExtraRun(
        r,
        done,
        slotOf.get(r.worker),
        refusalsByTask.get(id) ?? [],
        dump,
        input.failoverKills ?? [],
      );
      bump(duplicateEffectReasons, why);
      if (why === 'UNEXPLAINED') sample('duplicate side effect', id);
    }
  }

  let duplicateSettles = 0;
  const duplicateSettleReasons = new Map<string, number>();
  for (const [id, workers] of settlesByTask) {
    if (workers.length < 2) continue;
    duplicateSettles++;
    const entries = new Set(runs.filter((r) => r.id === id && r.attempt === 1).map((r) => r.entry));
    const why =
      entries.size > 1
        ? 'the task was enqueued twice (a resent unkeyed enqueue): two stream entries'
        : settleLostInFailover(
              dump.settles.filter((s) => s.id === id),
              input.failoverKills ?? [],
            )
          ? FAILOVER_LOST_SETTLE
          : 'UNEXPLAINED';
    bump(duplicateSettleReasons, why);
    if (why === 'UNEXPLAINED') sample('duplicate settle', id);
  }

  const silentCompletions = new Map<string, number>();
  for (const [id, worker] of input.resultWorker) {
    if (settlesByTask.has(id)) continue;
    const slot = slotOf.get(worker);
    const ownRefusal = (refusalsByTask.get(id) ?? []).some((r) => r.w === worker && r.detail === 'not-pending');
    const lastEnd = Math.max(...runs.filter((r) => r.id === id && r.worker === worker).map((r) => r.end), 0);
    if (ownRefusal) {
      bump(
        silentCompletions,
        "its settle ran but the reply was lost; the resent call answered 'not pending' and was reported as completion-refused",
      );
    } else if (slot?.killedAt !== undefined && slot.killedAt >= lastEnd) {
      bump(
        silentCompletions,
        "its worker was SIGKILLed after the settle, before the 'completed' event reached the ledger",
      );
    } else if (slot?.exitedAt !== undefined) {
      bump(
        silentCompletions,
        "its worker exited (not killed by the chaos) before the 'completed' event reached the ledger",
      );
    } else {
      bump(silentCompletions, 'UNEXPLAINED');
      sample("completed without a 'completed' event", id);
    }
  }

  return {
    lost,
    overlaps,
    duplicateEffects,
    duplicateEffectReasons,
    duplicateSettles,
    duplicateSettleReasons,
    refusals,
    silentCompletions,
    currentRunsAborted: dump.failures.filter(
      (f) => f.key !== undefined && /was (superseded|cancelled)\.$/.test(f.detail),
    ).length,
    failures: countBy(
      dump.failures.map((f) =>
        f.detail
          .replace(/"[^"]*"/g, '"…"')
          .replace(/Worker \S+/g, 'Worker …')
          .replace(/[0-9a-f-]{36}/g, '…'),
      ),
    ),
    unexplained,
    runs: runs.length,
    events: dump.events,
    longestPause: longestPause(dump.settles.map((s) => s.ts)),
  };
}

/** A logged start as a run: it ends at its end record, else when its worker was killed or exited, else now. */
export function toRun(s: StartRecord, dump: LedgerDump, slot: WorkerSlot | undefined, now: number): Run {
  const end = dump.ends.get(s.token);
  const base = {
    token: s.token,
    id: s.id,
    key: s.key,
    group: s.grp,
    worker: s.w,
    attempt: s.a,
    entry: s.e,
    start: s.ts,
  };
  if (end) return { ...base, end: end.ts, how: end.how };
  if (slot?.killedAt !== undefined) return { ...base, end: slot.killedAt, how: 'killed' };
  if (slot?.exitedAt !== undefined) return { ...base, end: slot.exitedAt, how: 'exited' };
  return { ...base, end: now, how: 'open' };
}

function findOverlaps(runs: Run[], dump: LedgerDump, byToken: Map<string, Run>, stalls: StallRecord[]): Overlap[] {
  const found = new Map<string, Overlap>();
  const note = (kind: 'task' | 'key', subject: string, a: Run, b: Run | undefined, how: 'marker' | 'interval') => {
    const [first, second] = b === undefined || a.start <= b.start ? [a, b] : [b, a];
    const id = `${kind}|${subject}|${[first.token, second?.token ?? '?'].sort().join('|')}`;
    const existing = found.get(id);
    if (existing) existing.seenBy.add(how);
    else
      found.set(id, {
        kind,
        subject,
        first,
        second,
        seenBy: new Set([how]),
        cls: classify(kind, first, second, stalls),
      });
  };
  for (const hit of dump.markerHits) {
    const run = byToken.get(hit.token);
    if (!run) continue;
    note(hit.kind, hit.kind === 'task' ? hit.id : (hit.key ?? hit.id), run, byToken.get(hit.holder), 'marker');
  }
  const byTask = new Map<string, Run[]>();
  const byKey = new Map<string, Run[]>();
  for (const r of runs) {
    push(byTask, r.id, r);
    if (r.key !== undefined) push(byKey, r.key, r);
  }
  for (const [kind, groups] of [
    ['task', byTask],
    ['key', byKey],
  ] as const) {
    for (const [subject, group] of groups) {
      if (group.length < 2) continue;
      group.sort((x, y) => x.start - y.start);
      for (let i = 0; i < group.length; i++) {
        for (let j = i + 1; j < group.length && group[j].start < group[i].end; j++)
          note(kind, subject, group[i], group[j], 'interval');
      }
    }
  }
  return [...found.values()];
}

function classify(kind: 'task' | 'key', a: Run, b: Run | undefined, stalls: StallRecord[]): OverlapClass {
  if (b && kind === 'task' && a.key === undefined && a.entry !== b.entry && a.attempt === 1 && b.attempt === 1)
    return 'duplicate-enqueue';
  const stalledDuring = (r: Run) => stalls.some((s) => s.w === r.worker && s.from < r.end && s.to > r.start);
  if (stalledDuring(a) || (b && stalledDuring(b))) return 'stall';
  if (b && a.how === 'aborted' && a.end <= b.start) return 'wind-down';
  return 'unexpected';
}

/**
 * Replication is asynchronous: a settle the old master acknowledged just before it was SIGKILLed
 * may not have reached the replica promoted in its place, which still holds the run pending, so
 * the task runs again (the README's failover promise: at least once). Said of a settle at most
 * REPLICATION_WINDOW_MS before a failover's kill, followed by another settle after it.
 */
const REPLICATION_WINDOW_MS = 1_000;
const FAILOVER_LOST_SETTLE =
  'its settle was acknowledged by the master just before the failover killed it and was lost with it: the promoted replica still held the run pending, so it ran again (at least once across a failover, as documented)';

/** Whether the first of `settles` (in time) came just before a failover's kill, and another after it. */
function settleLostInFailover(settles: readonly { ts: number }[], kills: readonly number[]): boolean {
  const [first, ...rest] = [...settles].sort((a, b) => a.ts - b.ts);
  if (!first) return false;
  return kills.some((k) => first.ts >= k - REPLICATION_WINDOW_MS && first.ts <= k + 100 && rest.some((s) => s.ts > k));
}

function explainExtraRun(
  r: Run,
  done: Run[],
  slot: WorkerSlot | undefined,
  refusals: { w: string; detail: string }[],
  dump: LedgerDump,
  failoverKills: readonly number[],
): string {
  if (slot?.killedAt !== undefined && slot.killedAt >= r.end && !refusals.some((x) => x.w === r.worker)) {
    return 'its worker was SIGKILLed after the side effect, before the settle: the run was reclaimed and ran again';
  }
  const refusal = refusals.find((x) => x.w === r.worker);
  if (refusal) {
    return refusal.detail === 'owned-by-another'
      ? 'its settle was refused (fenced): the run had been taken over by another worker'
      : 'its settle was refused (fenced): the run had already been settled by the worker that took it over';
  }
  if (dump.stalls.some((s) => s.w === r.worker && s.from < r.end && s.to > r.start)) {
    return 'its worker stalled past maxStallMs during the run: the run was taken over, and the stalled run finished its side effect anyway';
  }
  if (dump.leaseLost.some((l) => l.id === r.id && l.w === r.worker)) {
    return "its worker's lease lapsed as the run finished (cut off or stalled): the run was aborted, taken over and ran again; the first worker wrote nothing";
  }
  if (r.key === undefined && r.attempt === 1 && done.some((o) => o !== r && o.entry !== r.entry && o.attempt === 1)) {
    return 'the task was enqueued twice (a resent unkeyed enqueue): two stream entries';
  }
  // Its own settle, then one of another run after a failover's kill that came right after it.
  const own = dump.settles.find((s) => s.id === r.id && s.w === r.worker && s.ts >= r.end);
  if (
    own &&
    settleLostInFailover([own, ...dump.settles.filter((s) => s.id === r.id && s.ts > own.ts)], failoverKills)
  ) {
    return FAILOVER_LOST_SETTLE;
  }
  return 'UNEXPLAINED';
}

function whyOpen(id: string, runs: Run[], deadLetters: ReadonlyMap<string, string>): string {
  const dead = deadLetters.get(id);
  if (dead !== undefined) return `dead-lettered: ${dead}`;
  const mine = runs.filter((r) => r.id === id);
  if (mine.length === 0) return 'never started';
  return `started ${mine.length}x, never settled (${mine.map((r) => `${r.worker}:${r.how}`).join(', ')})`;
}

function longestPause(times: number[]): { ms: number; at: number } {
  const sorted = [...times].sort((a, b) => a - b);
  let best = { ms: 0, at: 0 };
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i] - sorted[i - 1] > best.ms) best = { ms: sorted[i] - sorted[i - 1], at: sorted[i - 1] };
  return best;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function countBy(items: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const i of items) bump(m, i);
  return m;
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

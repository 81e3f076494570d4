import { FLOW_INVARIANTS } from './flow-invariants';
import { PARTITIONED_FLOW_INVARIANTS } from './partitioned-flow-invariants';
import { PAUSE_INVARIANTS } from './pause-invariants';
import { RATE_INVARIANTS } from './rate-invariants';
import { SHARE_INVARIANTS } from './share-invariants';
import { strandedRunTakenOver } from './stranded-invariants';
import { unsettledEntry, type Snapshot } from './snapshot';
import type { StepResult } from './steps';
import type { World } from './world';

/** A broken invariant: `tag` classifies it (failures with the same name and tag are one finding). */
export interface Violation {
  readonly invariant: string;
  readonly tag: string;
  readonly message: string;
}

/** A check of Redis's state after a step: `snaps` and `prevs` hold one snapshot per partition. */
export type Check = (world: World, snaps: Snapshot[], prevs: Snapshot[] | undefined, step: StepResult) => Violation[];

const LIVE = new Set(['queued', 'delayed', 'running']);
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
/** The terminal states end-stranded-cancel.lua judges (a key recorded in the stranded cancels). */
const SWEEP_JUDGED = new Set(['cancelled', 'failed']);
/** `XTRIM MINID ~` trims whole stream nodes: up to one node of acked entries may stay (stream-node-max-entries). */
const ACKED_LEFT_BOUND = 100;

/**
 * No acknowledged enqueue lost: a task whose enqueue returned is still in a stream (read or
 * not), a delayed set or flow control's waiting room of a partition workers read, or ended by
 * something that says so: completed (reported, or its result stored), dead-lettered (its entry
 * is in a dead-letter stream), removed by id, or superseded by an acknowledged newer enqueue,
 * replace or cancel of its key. Anything else is a task that silently vanished, or sits in a partition beyond the count
 * workers read (stranded): the README's first promise broken.
 */
export const noAcknowledgedEnqueueLost: Check = (world, snaps) => {
  const present = new Set<string>();
  const stranded = new Map<string, number>();
  snaps.forEach((snap, p) => {
    const waiting = (snap.flow?.room ?? []).map((w) => w.id);
    for (const id of [...snap.stream.values(), ...snap.delayed.values()].map((c) => c.id).concat(waiting)) {
      if (p < world.readCount()) present.add(id);
      else stranded.set(id, p);
    }
  });
  const out: Violation[] = [];
  for (const t of world.tasks.values()) {
    if (!t.acknowledged || t.settled || present.has(t.id) || world.superseded(t.id, t.key)) continue;
    const p = stranded.get(t.id);
    out.push({
      invariant: 'noAcknowledgedEnqueueLost',
      tag: p !== undefined ? 'stranded' : t.key === undefined ? 'unkeyed' : 'keyed',
      message:
        p !== undefined
          ? `${t.alias}${t.key ? ` (key ${t.key})` : ''} was acknowledged and sits in partition ${p}, beyond the ${world.readCount()} workers read`
          : `${t.alias}${t.key ? ` (key ${t.key})` : ''} was acknowledged and is gone: not queued, delayed, waiting, completed, dead-lettered, removed or superseded`,
    });
  }
  return out;
};

/**
 * A key's queued, delayed or running work lives in one partition: the one its key maps to. Two
 * partitions holding live states of one key would give it two generations, two leases and two
 * runs at once (the mapping changed under a write that did not check it).
 */
export const keyLiveInOnePartition: Check = (world, snaps) => {
  const out: Violation[] = [];
  for (const key of world.shape.keys) {
    const where = livePartitions(snaps, key);
    if (where.length > 1)
      out.push({
        invariant: 'keyLiveInOnePartition',
        tag: 'key',
        message: `key ${key} is live in partitions ${where.join(' and ')}`,
      });
  }
  return out;
};

/**
 * A cancel that answers "nothing live" tells the truth: no partition holds a live run of the
 * key. A process that maps the key with another count than the stored one would otherwise miss
 * the live run and say so, and the run the caller meant to stop goes on.
 */
export const cancelAnswersTruly: Check = (world, snaps, _prevs, step) => {
  if (!step.nothingLive) return [];
  const { key, partition } = step.nothingLive;
  const live = livePartitions(snaps, key);
  if (live.length === 0) return [];
  return [
    {
      invariant: 'cancelAnswersTruly',
      tag: 'nothing-live',
      message: `cancel(${key}) looked in partition ${partition} and answered "nothing live", but partition ${live.join(' and ')} holds a live run of it`,
    },
  ];
};

/**
 * The partitions whose state of `key` is live (queued, delayed or running). A queued state whose
 * message an operator purged is counted too: a count change drops it while every partition is
 * frozen (layout.lua 'clean'), so none is left behind beside the key's next run in its new
 * partition (explore/traces/count-change-after-queued-purge.json).
 */
function livePartitions(snaps: readonly Snapshot[], key: string): number[] {
  return snaps.flatMap((snap, p) => {
    const fields = snap.keyStates.get(key)?.fields;
    return fields && LIVE.has(fields.state ?? '') ? [p] : [];
  });
}

/**
 * A write refused for its partition layout (PartitionLayoutError) changed nothing: no stream
 * entry, delayed member, key state or dead letter differs from before the step, in any partition.
 */
export const refusedWriteChangedNothing: Check = (world, snaps, prevs, step) => {
  if (!step.refused || !prevs) return [];
  const changed = snaps.flatMap((snap, p) => (fingerprint(snap) === fingerprint(prevs[p]) ? [] : [p]));
  if (changed.length === 0) return [];
  return [
    {
      invariant: 'refusedWriteChangedNothing',
      tag: 'written',
      message: `a write refused with PartitionLayoutError changed partition ${changed.join(' and ')}`,
    },
  ];
};

/** What a refused write could have changed in one partition, as one comparable string. */
function fingerprint(snap: Snapshot): string {
  const flow = snap.flow;
  return JSON.stringify([
    [...snap.stream.keys()],
    [...snap.delayed.keys()].sort(),
    [...snap.keyStates].map(([k, v]) => [k, v.fields]),
    [...snap.deadLettered].sort(),
    // A refused flow enqueue takes no slot, enters no room and records no limits.
    flow ? [[...flow.held], [...flow.count], [...flow.limits], flow.room.map((w) => w.id), [...flow.waits]] : [],
  ]);
}

/**
 * No two runs of one task, or of two generations of one key, at the same time while their
 * owners live. A run whose worker lapsed after it started is the documented exception: it may
 * still run (its handler ignores its signal), but its writes are fenced.
 */
export const noTwoLegitRuns: Check = (world) => {
  const byTask = new Map<string, string[]>();
  const byKey = new Map<string, string[]>();
  for (const run of world.runs) {
    if (!world.legit(run)) continue;
    const where = `w${run.worker}`;
    byTask.set(run.info.taskId, [...(byTask.get(run.info.taskId) ?? []), where]);
    if (run.info.key !== undefined)
      byKey.set(run.info.key, [...(byKey.get(run.info.key) ?? []), `${world.alias(run.info.taskId)}@${where}`]);
  }
  const out: Violation[] = [];
  for (const [id, where] of byTask) {
    if (where.length > 1)
      out.push({
        invariant: 'noTwoLegitRuns',
        tag: 'task',
        message: `${world.alias(id)} runs on ${where.join(' and ')}, both owners alive`,
      });
  }
  for (const [key, runs] of byKey) {
    const tasks = new Set(runs.map((r) => r.split('@')[0]));
    if (tasks.size > 1)
      out.push({
        invariant: 'noTwoLegitRuns',
        tag: 'key',
        message: `key ${key}: ${runs.join(' and ')} run at once, owners alive`,
      });
  }
  return out;
};

/**
 * Every run starts owned, and only if it is current: a run started by a live worker must hold its
 * entry in the pending list, and a keyed run must not be superseded when its head check passes
 * (a superseded or cancelled message is skipped before it runs). Judged at the step `start`.
 */
export const runsStartOwnedAndCurrent: Check = (world) => {
  const out = world.startViolations.map((message) => ({
    invariant: 'runsStartOwnedAndCurrent',
    tag: message.includes('superseded') ? 'superseded' : 'not-owned',
    message,
  }));
  world.startViolations.length = 0;
  return out;
};

/**
 * No stale write accepted: a settle by a run that had lost its entry, or whose task was
 * superseded, writes nothing: no result, no retry, no dead letter, no successor for its key, and
 * no ack of an entry another worker holds. Judged by comparing Redis before and after the settle.
 */
export const noStaleWriteAccepted: Check = (world, snaps, prevs, step) => {
  if (!prevs || !step.settles) return [];
  // A settle batch is one worker's, on its partition.
  const p = world.workers[step.settles[0].worker]?.partition ?? 0;
  const snap = snaps[p];
  const prev = prevs[p];
  const out: Violation[] = [];
  const current = step.settles.filter((s) => !s.stale);
  const currentKeys = new Set(current.map((s) => s.info.key));
  // A current run of the same task in the same batch may write for that task.
  const currentTasks = new Set(current.map((s) => s.info.taskId));
  for (const s of step.settles) {
    if (!s.stale || currentTasks.has(s.info.taskId)) continue;
    const { taskId, key, entryId } = s.info;
    const wrote: string[] = [];
    if (snap.results.get(taskId) !== prev.results.get(taskId) && snap.results.has(taskId)) wrote.push('a result');
    const added = [...snap.delayed].filter(([m]) => !prev.delayed.has(m)).map(([, c]) => c);
    if (added.some((c) => c.id === taskId)) wrote.push('a retry');
    if (key !== undefined && !currentKeys.has(key) && added.some((c) => c.key === key && c.id !== taskId))
      wrote.push('a successor');
    if (snap.deadLettered.has(taskId) && !prev.deadLettered.has(taskId)) wrote.push('a dead letter');
    const owner = prev.pending.get(entryId)?.owner;
    if (owner && owner !== world.workers[s.worker].sim.consumer && !snap.pending.has(entryId))
      wrote.push(`an ack of ${owner}'s entry`);
    if (wrote.length > 0) {
      out.push({
        invariant: 'noStaleWriteAccepted',
        tag: s.stale.startsWith('not owned') ? 'not-owned' : 'superseded',
        message: `w${s.worker}'s settle of ${world.alias(taskId)} (${s.stale}) wrote ${wrote.join(', ')}`,
      });
    }
  }
  return out;
};

/**
 * Every key state is live or expiring: queued/delayed/running are backed by the message or the
 * pending run they name; a terminal state (completed, failed, cancelled) has a TTL, or waits for
 * a run still pending to settle it. Otherwise the key is stuck: enqueue returns a dead run,
 * status() lies forever, a periodic chain stops for good.
 */
export const keyStatesLiveOrExpiring: Check = (world, snaps) => {
  const out: Violation[] = [];
  for (const [p, snap] of snaps.entries())
    out.push(...keyStatesOf(snap, world.countChange ? ` in partition ${p}` : '', world));
  return out;
};

/**
 * An operator's purge leaves a state naming its entry: a running one is judged by
 * strandedRunTakenOver, a terminal one waits for its run's owner to settle it (releaseKey), which
 * only a dead owner never does.
 */
function keyStatesOf(snap: Snapshot, where: string, world: World): Violation[] {
  const out: Violation[] = [];
  for (const [key, { fields, pttl }] of snap.keyStates) {
    const { state, mid, dm, rmid } = fields;
    const runPending = rmid !== undefined && snap.pending.has(rmid);
    const messagePurged = mid !== undefined && world.purged.has(mid);
    const runPurged = rmid !== undefined && world.purged.has(rmid);
    const ownerDead = world.workers.some((w) => w.sim.consumer === fields.rown && !w.alive);
    // A cancel that left it to its live owner's settle recorded it (and so did a dead letter of
    // the replacement of a run still running, the key left failed): a sweep ends it once that
    // owner's lease lapsed (end-stranded-cancel.lua), and progress checks that one did.
    const judgedBySweep = SWEEP_JUDGED.has(state) && snap.strandedCancels.has(key);
    let why: string | undefined;
    if (state === 'queued' && !(mid && snap.stream.has(mid)) && !(dm && snap.delayed.has(dm)) && !messagePurged)
      why = 'queued, its message gone';
    else if (state === 'delayed' && !(dm && snap.delayed.has(dm))) why = 'delayed, its member gone';
    else if (state === 'running' && !runPending && !runPurged) why = 'running, its run no longer pending';
    else if (TERMINAL.has(state) && pttl < 0 && !runPending && (!runPurged || (ownerDead && !judgedBySweep)))
      why = `${state} without a TTL${runPurged ? `, its run purged and its worker ${fields.rown} dead` : ''}`;
    else if (!TERMINAL.has(state) && !LIVE.has(state)) why = `unknown state ${state}`;
    if (why)
      out.push({
        invariant: 'keyStatesLiveOrExpiring',
        // A purged run's terminal state is a finding of its own (stranded), not hole 4's; one a
        // cancel left to a worker holding its lease, which died before its settle, is still open.
        tag: why.replace(/[ ,].*/, '') + (runPurged && TERMINAL.has(state) ? strandedTag(rmid, world) : ''),
        message: `key ${key}${where}: ${why}`,
      });
  }
  return out;
}

/**
 * After the drain (every live worker swept), a cancelled key (or a failed one, its replacement
 * dead-lettered while it ran) whose stranded run's worker is dead and that keeps no TTL: the sweeps never ended it (keyStatesOf excuses it while it is recorded
 * in the stranded cancels, waiting for a sweep).
 */
function strandedCancelsLeft(snap: Snapshot, p: number, world: World): Violation[] {
  const out: Violation[] = [];
  for (const [key, { fields, pttl }] of snap.keyStates) {
    const ownerDead = world.workers.some((w) => w.sim.consumer === fields.rown && !w.alive);
    if (!SWEEP_JUDGED.has(fields.state) || pttl >= 0 || !fields.rmid || !world.purged.has(fields.rmid) || !ownerDead)
      continue;
    out.push({
      invariant: 'keyStatesLiveOrExpiring',
      tag: `${fields.state}${strandedTag(fields.rmid, world)}`,
      message: `key ${key}${world.countChange ? ` in partition ${p}` : ''}: ${fields.state} without a TTL after the drain, its run purged and its worker ${fields.rown} dead`,
    });
  }
  return out;
}

/** The tag of a terminal state its purged run's dead worker never settled. */
function strandedTag(rmid: string | undefined, world: World): string {
  return rmid !== undefined && world.cancelledHeld.has(rmid) ? '-stranded-died-after-cancel' : '-stranded';
}

/**
 * The pending list and the streams stay bounded: acked entries leave the stream (up to one
 * stream node may wait for a later trim).
 */
export const streamsBounded: Check = (world, snaps) => {
  // The bound holds per stream (each partition's is trimmed on its own).
  const ackedIn = (snap: Snapshot) => [...snap.stream.keys()].filter((id) => !unsettledEntry(snap, id)).length;
  const acked = Math.max(...snaps.map(ackedIn));
  if (acked <= ACKED_LEFT_BOUND) return [];
  return [{ invariant: 'streamsBounded', tag: 'acked', message: `${acked} acked entries still in the stream` }];
};

/**
 * A removal that answered "removed" took the task out for good: from then on no partition holds
 * it queued (an unsettled entry), delayed, waiting in the flow room or holding a slot. A removal
 * that reports success yet leaves the task to run is an operator told a lie (and, for a task
 * that waited, a slot taken by a task nobody wants).
 */
export const removedStaysGone: Check = (world, snaps) => {
  const removed = new Set([...world.tasks.values()].filter((t) => t.settled === 'removed').map((t) => t.id));
  if (removed.size === 0) return [];
  const out: Violation[] = [];
  const report = (id: string, where: string) =>
    out.push({
      invariant: 'removedStaysGone',
      tag: where,
      message: `${world.alias(id)} was removed and is still ${where}`,
    });
  for (const snap of snaps) {
    for (const [entryId, c] of snap.stream)
      if (removed.has(c.id) && unsettledEntry(snap, entryId)) report(c.id, 'queued');
    for (const c of snap.delayed.values()) if (removed.has(c.id)) report(c.id, 'delayed');
    for (const w of snap.flow?.room ?? []) if (removed.has(w.id)) report(w.id, 'waiting');
    for (const [id, slot] of snap.flow?.held ?? []) if (removed.has(id)) report(id, `holding a slot of ${slot.group}`);
    for (const id of snap.flow?.waits.keys() ?? []) if (removed.has(id)) report(id, 'recorded as waiting');
  }
  return out;
};

/** Checked after every step, in this order. */
export const STEP_INVARIANTS: Check[] = [
  noTwoLegitRuns,
  strandedRunTakenOver,
  runsStartOwnedAndCurrent,
  noStaleWriteAccepted,
  noAcknowledgedEnqueueLost,
  keyLiveInOnePartition,
  cancelAnswersTruly,
  removedStaysGone,
  refusedWriteChangedNothing,
  keyStatesLiveOrExpiring,
  streamsBounded,
  ...FLOW_INVARIANTS,
  ...PARTITIONED_FLOW_INVARIANTS,
  ...RATE_INVARIANTS,
  ...SHARE_INVARIANTS,
  ...PAUSE_INVARIANTS,
];

/**
 * Progress, after the quiescent drain: every acknowledged task has ended (one bad entry never
 * blocks the others), nothing is pending for an entry that is gone, and no non-periodic key is
 * still live.
 */
export const progress = (world: World, snaps: Snapshot[]): Violation[] => {
  const out: Violation[] = [];
  const waiting = [...world.tasks.values()].filter(
    (t) => t.acknowledged && !t.periodic && !t.settled && !world.superseded(t.id, t.key),
  );
  if (waiting.length > 0)
    out.push({
      invariant: 'progress',
      tag: 'unsettled',
      message: `still unsettled after the drain: ${waiting.map((t) => t.alias).join(' ')}`,
    });
  for (const [p, snap] of snaps.entries()) out.push(...strandedCancelsLeft(snap, p, world));
  const orphans = snaps.flatMap((snap) => [...snap.pending.keys()].filter((id) => !snap.stream.has(id)));
  if (orphans.length > 0)
    out.push({
      invariant: 'progress',
      tag: 'orphan',
      message: `${orphans.length} pending entries whose message is gone`,
    });
  return out;
};

import type { Snapshot } from './snapshot';
import type { StepResult } from './steps';
import type { World } from './world';

/** A broken invariant: `tag` classifies it (failures with the same name and tag are one finding). */
export interface Violation {
  readonly invariant: string;
  readonly tag: string;
  readonly message: string;
}

type Check = (world: World, snap: Snapshot, prev: Snapshot | undefined, step: StepResult) => Violation[];

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
/** `XTRIM MINID ~` trims whole stream nodes: up to one node of acked entries may stay (stream-node-max-entries). */
const ACKED_LEFT_BOUND = 100;

/**
 * No acknowledged enqueue lost: a task whose enqueue returned is still in the stream (read or
 * not), in the delayed set, or ended by something that says so: completed (reported, or its
 * result stored), dead-lettered (its entry is in the dead-letter stream), or superseded by an
 * acknowledged newer enqueue, replace or cancel of its key. Anything else is a task that silently
 * vanished: the README's first promise broken.
 */
export const noAcknowledgedEnqueueLost: Check = (world, snap) => {
  const present = new Set<string>();
  for (const c of snap.stream.values()) present.add(c.id);
  for (const c of snap.delayed.values()) present.add(c.id);
  const out: Violation[] = [];
  for (const t of world.tasks.values()) {
    if (!t.acknowledged || t.settled || present.has(t.id) || world.superseded(t.id, t.key)) continue;
    out.push({
      invariant: 'noAcknowledgedEnqueueLost',
      tag: t.key === undefined ? 'unkeyed' : 'keyed',
      message: `${t.alias}${t.key ? ` (key ${t.key})` : ''} was acknowledged and is gone: not queued, delayed, completed, dead-lettered or superseded`,
    });
  }
  return out;
};

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
export const noStaleWriteAccepted: Check = (world, snap, prev, step) => {
  if (!prev || !step.settles) return [];
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
export const keyStatesLiveOrExpiring: Check = (world, snap) => {
  const out: Violation[] = [];
  for (const [key, { fields, pttl }] of snap.keyStates) {
    const { state, mid, dm, rmid } = fields;
    const runPending = rmid !== undefined && snap.pending.has(rmid);
    let why: string | undefined;
    if (state === 'queued' && !(mid && snap.stream.has(mid)) && !(dm && snap.delayed.has(dm)))
      why = 'queued, its message gone';
    else if (state === 'delayed' && !(dm && snap.delayed.has(dm))) why = 'delayed, its member gone';
    else if (state === 'running' && !runPending) why = 'running, its run no longer pending';
    else if (TERMINAL.has(state) && pttl < 0 && !runPending) why = `${state} without a TTL`;
    else if (!TERMINAL.has(state) && !['queued', 'delayed', 'running'].includes(state)) why = `unknown state ${state}`;
    if (why)
      out.push({ invariant: 'keyStatesLiveOrExpiring', tag: why.replace(/[ ,].*/, ''), message: `key ${key}: ${why}` });
  }
  return out;
};

/**
 * The pending list and the streams stay bounded: acked entries leave the stream (up to one
 * stream node may wait for a later trim).
 */
export const streamsBounded: Check = (world, snap) => {
  let acked = 0;
  for (const id of snap.stream.keys()) if (!after(id, snap.lastDelivered) && !snap.pending.has(id)) acked++;
  if (acked <= ACKED_LEFT_BOUND) return [];
  return [{ invariant: 'streamsBounded', tag: 'acked', message: `${acked} acked entries still in the stream` }];
};

/** Checked after every step, in this order. */
export const STEP_INVARIANTS: Check[] = [
  noTwoLegitRuns,
  runsStartOwnedAndCurrent,
  noStaleWriteAccepted,
  noAcknowledgedEnqueueLost,
  keyStatesLiveOrExpiring,
  streamsBounded,
];

/**
 * Progress, after the quiescent drain: every acknowledged task has ended (one bad entry never
 * blocks the others), nothing is pending for an entry that is gone, and no non-periodic key is
 * still live.
 */
export const progress = (world: World, snap: Snapshot): Violation[] => {
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
  const orphans = [...snap.pending.keys()].filter((id) => !snap.stream.has(id));
  if (orphans.length > 0)
    out.push({
      invariant: 'progress',
      tag: 'orphan',
      message: `${orphans.length} pending entries whose message is gone`,
    });
  return out;
};

function after(a: string, b: string): boolean {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am > bm || (am === bm && as > bs);
}

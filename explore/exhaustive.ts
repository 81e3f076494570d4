import type { Violation } from './invariants';
import { runSchedule, type Env } from './runner';
import { fixedSchedule } from './schedule';
import type { Step } from './steps';
import { worldNamed } from './worlds';

/** A small case: its fixed opening, and the steps that may follow in any order. */
export interface SmallCase {
  readonly name: string;
  /** The world it runs in (explore/worlds.ts); classic when absent. */
  readonly world?: string;
  readonly opening: Step[];
  readonly alphabet: Step[];
}

const WORKER_STEPS = (task: string): Step[] => [
  { op: 'read', w: 0 },
  { op: 'deliver', w: 0 },
  { op: 'start', w: 0, task },
  { op: 'end', w: 0, task, ok: false },
  { op: 'settle', w: 0 },
  { op: 'lapse', w: 0 },
  { op: 'heartbeat', w: 0 },
  { op: 'reclaim', w: 1, judge: 'dead' },
  { op: 'start', w: 1, task },
  { op: 'end', w: 1, task, ok: true },
  { op: 'settle', w: 1 },
];

/** The flow and rate cases' opening: t1 and t2 in group g1, t3 in g2, t4 in g3. */
const FLOW_OPENING: Step[] = [
  { op: 'enqueue-flow', id: 't1', group: 'g1' },
  { op: 'enqueue-flow', id: 't2', group: 'g1' },
  { op: 'enqueue-flow', id: 't3', group: 'g2' },
  { op: 'enqueue-flow', id: 't4', group: 'g3' },
];

export const SMALL_CASES: SmallCase[] = [
  { name: 'unkeyed', opening: [{ op: 'enqueue', kind: 'plain', id: 't1' }], alphabet: WORKER_STEPS('t1') },
  {
    name: 'keyed',
    opening: [{ op: 'enqueue', kind: 'keyed', id: 't1', key: 'k1' }],
    alphabet: [...WORKER_STEPS('t1'), { op: 'cancel', key: 'k1' }, { op: 'expire', target: 'key:k1' }],
  },
  {
    // Under globalConcurrency 2 and groupConcurrency 1: t1 and t3 hold the slots, t2 waits for
    // its group's, t4 for a global one. t1 fails once (its retry re-enters admission when
    // promoted), its worker may lapse and another reclaim it; t3 may be removed before it is read.
    name: 'flow',
    world: 'flow',
    opening: FLOW_OPENING,
    alphabet: [...WORKER_STEPS('t1'), { op: 'promote' }, { op: 'remove', task: 't3' }],
  },
  {
    // Under rateLimit 2 and groupRateLimit 1 (and groupConcurrency 1): t1 and t3 take the task
    // window's two tokens at admission, t2 waits for g1's slot and token, t4 for the task window.
    // t1's run may fail (its retry needs a token again), its worker lapse and another reclaim
    // and restart it (a restart needs a free token: none until time passes); t3 may be removed
    // (its token goes back and admits t4); time passes one group window at a time.
    name: 'rate',
    world: 'rate',
    opening: FLOW_OPENING,
    alphabet: [...WORKER_STEPS('t1'), { op: 'elapse' }, { op: 'promote' }, { op: 'remove', task: 't3' }],
  },
  {
    // k1's run t1 runs on w0 when its stream is purged (a DEL, or its entry deleted): the stranded
    // run is judged by the lease it was claimed under while w0's lease lapses, goes unconfirmed
    // (renewed by the next beat), or holds, its handler ends and settles, and the key is enqueued
    // again or replaced, the new run read and started by w1.
    name: 'stranded',
    opening: [
      { op: 'enqueue', kind: 'keyed', id: 't1', key: 'k1' },
      { op: 'read', w: 0 },
      { op: 'deliver', w: 0 },
      { op: 'start', w: 0, task: 't1' },
    ],
    alphabet: [
      { op: 'purge', what: 'stream' },
      { op: 'purge', what: 'entry', task: 't1' },
      { op: 'lapse', w: 0 },
      { op: 'notice', w: 0 },
      { op: 'heartbeat', w: 0 },
      { op: 'end', w: 0, task: 't1', ok: true },
      { op: 'settle', w: 0 },
      { op: 'enqueue', kind: 'keyed', id: 't2', key: 'k1' },
      { op: 'enqueue', kind: 'keyed', id: 't3', key: 'k1', replace: true },
      { op: 'read', w: 1 },
      { op: 'deliver', w: 1 },
      { op: 'start', w: 1, task: 't2' },
      { op: 'start', w: 1, task: 't3' },
    ],
  },
  {
    // Every partition frozen for 2 -> 3; the commits interleave with writes of k3 (partition 1
    // under 2, partition 2 under 3) from a process with each count.
    name: 'count-change',
    world: 'grow',
    opening: [{ op: 'layout' }, { op: 'layout' }, { op: 'layout' }],
    alphabet: [
      { op: 'layout' },
      { op: 'enqueue', kind: 'keyed', id: 't1', key: 'k3', by: 'stale' },
      { op: 'enqueue', kind: 'keyed', id: 't2', key: 'k3', by: 'fresh' },
      { op: 'cancel', key: 'k3', by: 'stale' },
      { op: 'cancel', key: 'k3', by: 'fresh' },
    ],
  },
];

/**
 * Every schedule of a small case up to `depth` steps after its opening, each followed by the
 * drain. A step that does not apply ends its branch (the schedule equals its prefix), and so
 * does a failure. Returns the failures (first per signature) and how many schedules ran.
 */
export async function exhaust(
  env: Env,
  small: SmallCase,
  depth: number,
  deadline: number,
  open: ReadonlySet<string> = new Set(),
): Promise<{
  ran: number;
  failures: Map<string, { steps: Step[]; violations: Violation[] }>;
  knownOpen: Map<string, number>;
}> {
  const failures = new Map<string, { steps: Step[]; violations: Violation[] }>();
  const knownOpen = new Map<string, number>();
  let ran = 0;
  const visit = async (prefix: Step[]): Promise<void> => {
    if (prefix.length - small.opening.length >= depth || Date.now() > deadline) return;
    for (const step of small.alphabet) {
      const steps = [...prefix, step];
      const result = await runSchedule(env, fixedSchedule(steps), worldNamed(small.world), open);
      ran++;
      for (const sig of result.knownOpen) knownOpen.set(sig, (knownOpen.get(sig) ?? 0) + 1);
      if (!result.lines[steps.length - 1]?.applied && result.violations.length === 0) continue;
      const first = result.violations[0];
      if (first) {
        const signature = `${first.invariant}[${first.tag}]`;
        if (!failures.has(signature)) failures.set(signature, { steps, violations: result.violations });
        continue;
      }
      await visit(steps);
    }
  };
  await visit(small.opening);
  return { ran, failures, knownOpen };
}

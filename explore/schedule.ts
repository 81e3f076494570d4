import { holdsGroupLimit } from '../lib/task/flow-limits';
import { describe, PERIODIC_KEY } from './protocol-adapter';
import type { NextStep } from './runner';
import { unsettledEntry, type Snapshot } from './snapshot';
import type { ClientProcess, Step } from './steps';
import type { World, WorkerModel } from './world';
import type { FlowShape } from './worlds';

/** mulberry32: a small seeded PRNG, so a seed names a schedule exactly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ScheduleOptions {
  readonly steps: number;
  readonly maxTasks: number;
}

/**
 * A random schedule, step by step: each step is drawn among those that apply to the world as it
 * is (weights below), so few steps are wasted. Workers, keys and flags are drawn too.
 */
export function randomSchedule(seed: number, options: ScheduleOptions): NextStep {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const chance = (p: number) => random() < p;
  // Another definition of the flow task (a rolling deploy): each slot limit one up or one down,
  // none staying none. Its enqueues record it; the scripts must keep the limits through the change.
  const retuned = (flow: FlowShape) => {
    const move = (limit: number) => (limit === 0 ? 0 : Math.max(1, limit + (chance(0.5) ? 1 : -1)));
    return { global: move(flow.global), group: move(flow.group) };
  };
  let made = 0;
  let hostile = 0;
  // Half the schedules of a partitioned world change the count early (while the queue is still
  // empty enough to allow it), so writes after the commit get explored; the others interleave it.
  const eagerChange = random() < 0.5;
  // A partitioned flow world's other schedules mostly change it late, once runs have settled
  // and tasks wait (drawn at its first step, so other worlds' schedules draw as before): the
  // switch then races rate tokens still in their windows, the last settles and reclaims.
  let lateChange: boolean | undefined;
  return (world: World, index: number) => {
    lateChange ??= world.shape.flow !== undefined && world.countChange !== undefined && random() < 0.7;
    if (index >= options.steps) return undefined;
    const candidates: [number, () => Step][] = [];
    const add = (weight: number, make: () => Step) => candidates.push([weight, make]);
    const KEYS = world.shape.keys;
    // A partitioned world: which client process writes (and, unkeyed, to which of its partitions).
    const change = world.countChange;
    const by = (): { by?: ClientProcess } => (change && chance(0.5) ? { by: 'fresh' } : {});
    const turn = (who: { by?: ClientProcess }) => {
      const count = world.countOf(who.by);
      return world.parts.length > 1 ? { ...who, p: Math.floor(random() * count) } : who;
    };
    const flow = world.shape.flow;
    // A late change: past 40% of the steps the producers hold off until the switch is done,
    // so the queue may drain enough for it (what its tasks left in the windows holds it back),
    // and two tasks are kept for after it, to meet what the old partitions still hold.
    const late = lateChange === true && index >= options.steps * 0.4;
    const switching = lateChange === true && change !== undefined && !change.done;
    const holdOff = late && switching;
    if (flow && made < options.maxTasks - (switching ? 2 : 0) && !holdOff) {
      // A task under flow control takes no key: flow enqueues, and a few plain tasks beside them.
      // A partitioned queue refuses priority (it orders tasks across groups, so across partitions).
      // An ungrouped task without a group limit goes to its producer's turn: any partition.
      const partitioned = world.parts.length > 1;
      add(8, () => {
        const group = pick(flow.groups);
        return {
          op: 'enqueue-flow',
          id: `t${++made}`,
          group,
          ...(!partitioned && chance(0.5) ? { priority: 1 + Math.floor(random() * 10) } : {}),
          ...(chance(0.15) ? { delayed: true } : {}),
          ...(chance(0.05) ? { big: true } : {}),
          // A retuned definition's whole limits would be split anew: the shares world keeps one.
          ...(flow.other && chance(0.4)
            ? { task: 'other' as const }
            : !world.shape.partitions && chance(0.1)
              ? { retuned: retuned(flow) }
              : {}),
          ...by(),
          ...(partitioned && group === '' && !holdsGroupLimit(flow)
            ? { p: Math.floor(random() * world.parts.length) }
            : {}),
        };
      });
      add(1, () => ({ op: 'enqueue', kind: 'plain', id: `t${++made}`, ...turn(by()) }));
    } else if (made < options.maxTasks) {
      const id = () => `t${++made}`;
      add(3, () => ({ op: 'enqueue', kind: 'plain', id: id(), ...turn(by()) }));
      add(4, () => ({
        op: 'enqueue',
        kind: 'keyed',
        id: id(),
        key: pick(KEYS),
        ...(chance(0.5) ? { replace: true } : {}),
        ...resend(),
        ...by(),
      }));
      add(1, () => {
        const keyed = chance(0.5);
        return {
          op: 'enqueue',
          kind: 'delayed',
          id: id(),
          ...(keyed ? { key: pick(KEYS) } : {}),
          ...resend(),
          ...(keyed ? by() : turn(by())),
        };
      });
      add(0.5, () => ({ op: 'enqueue', kind: 'every', id: id(), ...by() }));
      add(0.3, () => ({ op: 'enqueue', kind: 'big', id: id(), key: pick(KEYS), ...by() }));
      add(0.3, () => ({ op: 'hostile', kind: chance(0.5) ? 'wide' : 'malformed', id: `h${++hostile}` }));
    }
    if (!flow) add(1.5, () => ({ op: 'cancel', key: pick([...KEYS, PERIODIC_KEY]), ...by() }));
    // An operator purges a stream, rarely (it ends tasks): a DEL, a trim of every entry, or one
    // task's entry, most often while a keyed run runs (its run is then stranded: the judge of
    // includes/stranded-run.lua). Not where flow control counts slots: a purged run's slot is the
    // operator's to free.
    const filled = world.snapshots.map((snap, p) => ({ p, snap })).filter(({ snap }) => snap.stream.size > 0);
    const stranding = filled.filter(({ snap }) =>
      [...snap.keyStates.values()].some((k) => k.fields.state === 'running'),
    );
    if (!flow && filled.length > 0)
      add(stranding.length > 0 ? 0.5 : 0.15, () => {
        const { p, snap } = pick(stranding.length > 0 ? stranding : filled);
        const where = world.parts.length > 1 ? { p } : {};
        const what = pick(['stream', 'trim', 'entry', 'entry'] as const);
        const running = [...snap.keyStates.values()].map((k) => k.fields.rmid).filter((id) => snap.stream.has(id));
        const entries = running.length > 0 && chance(0.7) ? running : [...snap.stream.keys()];
        const task = snap.stream.get(pick(entries))!.id;
        if (what !== 'entry' || !world.tasks.has(task))
          return { op: 'purge', what: what === 'entry' ? 'trim' : what, ...where };
        return { op: 'purge', what, task: world.alias(task), ...where };
      });
    // Late, the operator purges dead letters (strays, poison, failed tasks): each holds the switch.
    const lettered = world.snapshots.flatMap((snap, p) => (snap.deadLettered.size > 0 ? [p] : []));
    if (late && switching && lettered.length > 0)
      add(2, () => ({ op: 'purge', what: 'dead-letters', p: pick(lettered) }));
    const removable = flow ? removableTasks(world) : [];
    if (removable.length > 0) add(1, () => ({ op: 'remove', task: pick(removable) }));
    add(1, () => ({ op: 'promote' }));
    // Rate windows: time passes for them only by this step.
    if (flow?.rate || flow?.groupRate) add(1.5, () => ({ op: 'elapse' }));
    // Late, the operator tries mostly once no stream or delayed set holds a task: what may still
    // hold the switch then is flow state alone (a rate token in its window, a task waiting).
    const lateWeight = () => (world.snapshots.every((snap) => streamEmpty(snap) && snap.delayed.size === 0) ? 6 : 1);
    if (change && !change.done) add(eagerChange ? 15 : late ? lateWeight() : 2, () => ({ op: 'layout' }));
    const expirable: string[] = [];
    for (const snap of world.snapshots) {
      expirable.push(...[...snap.keyStates].filter(([, s]) => s.pttl > 0).map(([k]) => `key:${k}`));
      expirable.push(...[...snap.results.keys()].map((id) => `result:${world.alias(id)}`));
    }
    if (expirable.length > 0) add(1, () => ({ op: 'expire', target: pick(expirable) }));
    // pause() and resume(): each worker hears the call's notice at a step of its own (or loses
    // it), and polls the records, its reply possibly held past the notices of later calls.
    // A partitioned flow world has six workers, two per partition, and its tasks progress only
    // through the two of their group's: it draws their lease and pause steps less often, and
    // reads and sweeps only where they find something, so its tasks settle within a schedule.
    const focused = flow !== undefined && world.parts.length > 1;
    const noise = focused ? 0.4 : 1;
    add(0.4 * noise, () => ({ op: 'pause', paused: !world.pauseCalls.get(world.newestPauseCall()) }));
    for (const w of world.live()) {
      const i = w.index;
      if (w.notices.length > 0)
        add(1.5 * noise, () => ({ op: 'hear', w: i, ...(chance(0.15) ? { lost: true as const } : {}) }));
      add(0.5 * noise, () => ({ op: 'poll', w: i, ...(chance(0.4) ? { reply: 'held' as const } : {}) }));
    }
    for (const w of world.live()) {
      const i = w.index;
      // A shut pause gate: no read, sweep or start; what is in flight ends and settles.
      const open = !world.paused(w);
      if (open && (!focused || unread(world, w))) add(2, () => ({ op: 'read', w: i }));
      if (w.inbox.length > 0) add(4, () => ({ op: 'deliver', w: i }));
      if (open && w.admitted.length > 0)
        add(4, () => ({ op: 'start', w: i, task: world.alias(describe(pick(w.admitted)).taskId) }));
      if (w.running.size > 0)
        add(3, () => ({
          op: 'end',
          w: i,
          task: world.alias(pick([...w.running.values()]).info.taskId),
          ok: chance(0.7),
        }));
      if (w.outcomes.length > 0)
        add(3, () => ({ op: 'settle', w: i, ...(chance(0.3) ? { reply: chance(0.5) ? 'held' : 'resent' } : {}) }));
      if (w.wire.heldCount > 0) add(2, () => ({ op: 'release', w: i }));
      // A beat's reply may be held: what it wrote (a new value) is in Redis before the worker knows.
      add(noise, () => ({ op: 'heartbeat', w: i, ...(chance(0.15) ? { reply: 'held' as const } : {}) }));
      if (w.keyPresent) add(0.8 * noise, () => ({ op: 'lapse', w: i }));
      if (w.sim.believesLease) add(0.4 * noise, () => ({ op: 'notice', w: i }));
      const pending = [...world.snapshotOf(w).pending.values()];
      if (open && (!focused || pending.some((r) => r.owner !== w.sim.consumer)))
        add(1, () => ({ op: 'reclaim', w: i, judge: chance(0.8) ? 'dead' : 'stale' }));
      if (open && (!focused || pending.some((r) => r.owner === w.sim.consumer)))
        add(0.7, () => ({ op: 'recover', w: i }));
      if (world.live().length > 1) add(0.15, () => ({ op: 'crash', w: i }));
    }
    const total = candidates.reduce((sum, [weight]) => sum + weight, 0);
    let at = random() * total;
    for (const [weight, make] of candidates) {
      at -= weight;
      if (at <= 0) return make();
    }
    return candidates[candidates.length - 1][1]();
  };

  function resend(): { resend?: true } {
    return random() < 0.1 ? { resend: true } : {};
  }
}

/** Whether a partition's stream holds no task (read or not) that is not settled. */
function streamEmpty(snap: Snapshot): boolean {
  return ![...snap.stream.keys()].some((id) => unsettledEntry(snap, id));
}

/** Whether the stream of `w`'s partition holds entries its consumer group has not read yet. */
function unread(world: World, w: WorkerModel): boolean {
  const snap = world.snapshotOf(w);
  return [...snap.stream.keys()].some((id) => unsettledEntry(snap, id) && !snap.pending.has(id));
}

/** Tasks a remove may find (queued, read or not, delayed, or waiting in the room) in any partition, by alias. */
function removableTasks(world: World): string[] {
  const ids = world.snapshots.flatMap((snap) => [
    ...[...snap.stream].filter(([entryId]) => unsettledEntry(snap, entryId)).map(([, c]) => c.id),
    ...[...snap.delayed.values()].map((c) => c.id),
    ...(snap.flow?.room.map((w) => w.id) ?? []),
  ]);
  return [...new Set(ids)].filter((id) => world.tasks.has(id)).map((id) => world.alias(id));
}

/** A fixed list of steps, for replays and shrinking. */
export function fixedSchedule(steps: readonly Step[]): NextStep {
  return (_world, index) => steps[index];
}

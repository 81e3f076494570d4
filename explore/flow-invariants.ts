import type { FlowView } from './flow-snapshot';
import type { Check, Violation } from './invariants';
import { windowsOf } from './rate-snapshot';
import { unsettledEntry, type Snapshot } from './snapshot';
import type { World } from './world';

const violation = (invariant: string, tag: string, message: string): Violation => ({ invariant, tag, message });

/** Checks one partition's flow state; a world without flow control has none to check. */
const perFlow =
  (check: (world: World, flow: FlowView, snap: Snapshot) => Violation[]): Check =>
  (world, snaps) =>
    snaps.flatMap((snap) => (snap.flow ? check(world, snap.flow, snap) : []));

/** The limits a task name runs under: as enqueue-flow.lua recorded them (0 = none). */
function limitsOf(flow: FlowView, name: string): { global: number; group: number } {
  return flow.limits.get(name) ?? { global: 0, group: 0 };
}

/**
 * Within the limits: per task, the held slots number at most its globalConcurrency, and per
 * group at most its groupConcurrency, unless the limits were lowered under runs already held:
 * then a group may stay above the new limit, but no run is admitted into it until it is below
 * (so a step that adds a hold must leave the group within the recorded limit). flow:count says
 * the same as the holds in flow:tasks (the scripts check the counts, so a count that drifts from
 * the held set lets a limit be overrun or starves it). And every run that is legit (its worker
 * alive, its lease unbroken since it started) holds its slot: the limit counts runs, and only a
 * fenced settle gives a slot back.
 */
export const flowWithinLimits: Check = (world, snaps, prevs) =>
  snaps.flatMap((snap, i) => (snap.flow ? withinLimits(world, snap.flow, prevs?.[i]?.flow, i) : []));

/** The checks of partition `p`: its runs are those of its workers. */
function withinLimits(world: World, flow: FlowView, before: FlowView | undefined, p: number): Violation[] {
  const out: Violation[] = [];
  const held = new Map<string, string[]>();
  for (const [id, slot] of flow.held) {
    for (const field of [slot.name, `${slot.name}\0${slot.group}`]) held.set(field, [...(held.get(field) ?? []), id]);
  }
  for (const [field, ids] of held) {
    const [name, group] = field.split('\0');
    const limit = group === undefined ? limitsOf(flow, name).global : limitsOf(flow, name).group;
    const what = group === undefined ? `task ${name}` : `group ${group} of ${name}`;
    const names = ids.map((id) => world.alias(id)).join(' ');
    // Admitted by this step: a hold that was not there before, or names another entry now.
    const admitted = ids.filter((id) => before?.held.get(id)?.entryId !== flow.held.get(id)!.entryId);
    if (limit > 0 && ids.length > limit && admitted.length > 0)
      out.push(
        violation(
          'flowWithinLimits',
          group === undefined ? 'global' : 'group',
          `${what} holds ${ids.length} > ${limit} after admitting ${admitted.map((id) => world.alias(id)).join(' ')}: ${names}`,
        ),
      );
    if ((flow.count.get(field) ?? 0) !== ids.length)
      out.push(
        violation(
          'flowWithinLimits',
          'count',
          `count of ${what} is ${flow.count.get(field) ?? 0}, held ${ids.length}: ${names}`,
        ),
      );
  }
  for (const [field, n] of flow.count)
    if (!held.has(field))
      out.push(violation('flowWithinLimits', 'count', `count ${field.replace('\0', '/')} is ${n}, nothing held`));
  for (const run of world.runs) {
    if (!world.legit(run) || !world.flowGroups.has(run.info.taskId) || world.workers[run.worker].partition !== p)
      continue;
    if (flow.held.get(run.info.taskId)?.entryId !== run.info.entryId)
      out.push(
        violation(
          'flowWithinLimits',
          'run-not-held',
          `${world.alias(run.info.taskId)} runs on w${run.worker} (legit) without holding its slot`,
        ),
      );
  }
  return out;
}

/**
 * Held = admitted and not settled: each held slot names an entry of its task still in the
 * stream, not read yet or pending; and every such entry carrying `fl` holds its slot. A slot
 * whose entry is gone is leaked (its limit shrinks for good); an admitted entry without one runs
 * outside the limit.
 */
export const flowHeldIsAdmitted = perFlow((world, flow, snap) => {
  const out: Violation[] = [];
  for (const [id, slot] of flow.held) {
    const entry = snap.stream.get(slot.entryId);
    if (!entry || entry.id !== id || !unsettledEntry(snap, slot.entryId))
      out.push(
        violation(
          'flowHeldIsAdmitted',
          'leaked',
          `${world.alias(id)} holds a slot of group ${slot.group} for entry ${slot.entryId}, which is settled or gone`,
        ),
      );
    else if (entry.flow !== slot.group)
      out.push(
        violation(
          'flowHeldIsAdmitted',
          'group',
          `${world.alias(id)} holds a slot of group ${slot.group}, its entry is of ${entry.flow}`,
        ),
      );
  }
  for (const [entryId, c] of snap.stream) {
    if (c.flow === undefined || !unsettledEntry(snap, entryId)) continue;
    if (flow.held.get(c.id)?.entryId !== entryId)
      out.push(
        violation(
          'flowHeldIsAdmitted',
          'unheld',
          `${world.alias(c.id)}'s entry ${entryId} is admitted and holds no slot`,
        ),
      );
  }
  return out;
});

/**
 * A task waits (its room member and its wait in flow:tasks agree on it) or is admitted or
 * delayed, never two at once: a task both waiting and admitted would run twice, once now and
 * once when the room admits it.
 */
export const flowWaitingNotAdmitted = perFlow((world, flow, snap) => {
  const out: Violation[] = [];
  const inRoom = new Set(flow.room.map((w) => w.id));
  for (const id of new Set([...inRoom, ...flow.waits.keys()]))
    if (inRoom.has(id) !== flow.waits.has(id))
      out.push(
        violation(
          'flowWaitingNotAdmitted',
          'room-wait',
          `${world.alias(id)} is in the ${inRoom.has(id) ? 'room' : 'tasks hash as waiting'} only`,
        ),
      );
  for (const w of flow.room)
    if (flow.waits.has(w.id) && flow.waits.get(w.id) !== w.prefix)
      out.push(violation('flowWaitingNotAdmitted', 'room-wait', `${world.alias(w.id)}'s wait names another member`));
  const admitted = new Set([...snap.stream].filter(([entryId]) => unsettledEntry(snap, entryId)).map(([, c]) => c.id));
  const delayed = new Set([...snap.delayed.values()].map((c) => c.id));
  for (const id of inRoom) {
    const also = [
      flow.held.has(id) && 'holds a slot',
      admitted.has(id) && 'is in the stream',
      delayed.has(id) && 'is delayed',
    ];
    const both = also.filter((x): x is string => typeof x === 'string');
    if (both.length > 0)
      out.push(
        violation('flowWaitingNotAdmitted', 'both', `${world.alias(id)} waits in the room and ${both.join(' and ')}`),
      );
  }
  return out;
});

/**
 * The room's entry times (flow:entered) name exactly the tasks in the room: one left behind by a
 * task that was admitted or removed would age the queue's oldest waiting task for ever (a health
 * check down for good); one missing would hide a starving task from it.
 */
export const flowRoomEntered = perFlow((world, flow) => {
  const out: Violation[] = [];
  const inRoom = new Set(flow.room.map((w) => w.id));
  for (const id of inRoom)
    if (!flow.entered.has(id))
      out.push(violation('flowRoomEntered', 'missing', `${world.alias(id)} waits in the room with no entry time`));
  for (const id of flow.entered)
    if (!inRoom.has(id))
      out.push(violation('flowRoomEntered', 'left', `${world.alias(id)} has an entry time but is not in the room`));
  return out;
});

/**
 * No slot idles while a task could take it: a task waits only while its group or its task is
 * at its limit (a raised limit too: the enqueue that records it rings the task's waiting pairs). A release feeds the room in the same script, so a free slot beside a waiting
 * task means it waits for nothing (and, with no polling, may wait forever). A task under a
 * rate limit may also wait for a token with its slots free: rateWaitServed judges that wait.
 */
export const flowNoIdleSlot = perFlow((world, flow) => {
  const out: Violation[] = [];
  for (const w of flow.room) {
    if (windowsOf(world.shape.flow, w.name, w.group).length > 0) continue;
    const limits = limitsOf(flow, w.name);
    const groupFull = limits.group > 0 && (flow.count.get(`${w.name}\0${w.group}`) ?? 0) >= limits.group;
    const globalFull = limits.global > 0 && (flow.count.get(w.name) ?? 0) >= limits.global;
    if (!groupFull && !globalFull)
      out.push(
        violation(
          'flowNoIdleSlot',
          'idle',
          `${world.alias(w.id)} of group ${w.group} waits while its group and its task have free slots`,
        ),
      );
  }
  return out;
});

/**
 * The ring's shape: each pair of flow:ringed is in the ring exactly once or parked (for its task's
 * rate window or global slot) exactly once, never both; nothing is in the ring or parked without
 * being ringed. A pair twice in the ring takes two turns per round (unfair); a ringed pair in
 * neither is never served again (its group's releases and enqueues see it ringed and push nothing).
 * And a pair with waiting tasks and a free group slot is ringed or waits for its group's rate
 * window (its wake): out of the ring otherwise, it starves while its task's global slots stay
 * busy (flowNoIdleSlot sees it only once they free), and a release hands its slots over as if
 * the group held its limit.
 */
export const flowRingShape = perFlow((world, flow) => {
  const out: Violation[] = [];
  const seen = new Map<string, number>();
  for (const pair of flow.ring) seen.set(pair, (seen.get(pair) ?? 0) + 1);
  for (const member of flow.parked) {
    const global = member.startsWith('\0');
    const parts = (global ? member.slice(1) : member).split('\0');
    const pair = `${parts[0]}\0${parts[2]}`;
    seen.set(pair, (seen.get(pair) ?? 0) + 1);
  }
  for (const [pair, n] of seen) {
    if (n > 1)
      out.push(
        violation('flowRingShape', 'twice', `pair ${pair.replace('\0', '/')} is ${n} times in the ring or parked`),
      );
    if (!flow.ringed.has(pair))
      out.push(
        violation(
          'flowRingShape',
          'unringed',
          `pair ${pair.replace('\0', '/')} is in the ring or parked but not ringed`,
        ),
      );
  }
  // A pair with waiting tasks and a free group slot waits for its turn: ringed (in the ring or
  // parked), or out of it for its group's rate window, with its wake.
  const waiting = new Set(flow.room.map((w) => `${w.name}\0${w.group}`));
  for (const pair of waiting) {
    const name = pair.slice(0, pair.indexOf('\0'));
    const limit = limitsOf(flow, name).group;
    const full = limit > 0 && (flow.count.get(pair) ?? 0) >= limit;
    if (!full && !flow.ringed.has(pair) && !flow.rate.wakes.has(pair))
      out.push(
        violation(
          'flowRingShape',
          'unserved',
          `pair ${pair.replace('\0', '/')} waits with a free group slot, out of the ring`,
        ),
      );
  }
  for (const pair of flow.ringed)
    if (!seen.has(pair))
      out.push(
        violation(
          'flowRingShape',
          'lost',
          `pair ${pair.replace('\0', '/')} is ringed but neither in the ring nor parked`,
        ),
      );
  return out;
});

/** Flow control's checks, after every step. */
export const FLOW_INVARIANTS: Check[] = [
  flowWithinLimits,
  flowHeldIsAdmitted,
  flowWaitingNotAdmitted,
  flowRoomEntered,
  flowNoIdleSlot,
  flowRingShape,
];

import type { FlowView } from './flow-snapshot';
import { holdsGroupLimit } from '../lib/task/flow-limits';
import type { Check, Violation } from './invariants';
import { windowName } from './rate-snapshot';
import { unsettledEntry, type Snapshot } from './snapshot';
import type { World } from './world';
import type { FlowShape } from './worlds';

/**
 * Flow control on a partitioned queue (the `flow-partitioned` world): a group's limit is one
 * atomic count only while all of its tasks are in one partition. These checks look across the
 * partitions; FLOW_INVARIANTS and RATE_INVARIANTS check each one on its own.
 */
const violation = (invariant: string, tag: string, message: string): Violation => ({ invariant, tag, message });

/** Checks of a world with flow control and more than one partition. */
const acrossPartitions =
  (check: Check): Check =>
  (world, snaps, prevs, step) =>
    world.shape.flow && snaps.length > 1 ? check(world, snaps, prevs, step) : [];

/**
 * Where a partition holds state of each group (name/group): a held slot, a task waiting in the
 * room or recorded as waiting, an admitted entry not settled, a delayed member under flow
 * control, or a rate token still counted (a start inside its window, a marker, a reservation).
 */
function groupStates(flow: FlowView, snap: Snapshot, shape: FlowShape | undefined): Map<string, string> {
  const states = new Map<string, string>();
  const note = (name: string, group: string, what: string) => {
    const pair = `${name}/${group}`;
    if (!states.has(pair)) states.set(pair, what);
  };
  for (const [id, slot] of flow.held) note(slot.name, slot.group, `${id} holds a slot`);
  for (const w of flow.room) note(w.name, w.group, `${w.id} waits in the room`);
  for (const [id, wait] of flow.waits) {
    const [name, group] = wait.split('\0');
    note(name, group, `${id} is recorded as waiting`);
  }
  for (const [entryId, c] of snap.stream)
    if (c.flow !== undefined && unsettledEntry(snap, entryId)) note('', c.flow, `${c.id} is admitted`);
  for (const c of snap.delayed.values()) if (c.flow !== undefined) note('', c.flow, `${c.id} is delayed`);
  for (const [pair, what] of rateTokens(flow, shape)) if (!states.has(pair)) states.set(pair, what);
  return states;
}

/** The group windows holding a counted token (the freeze's rateRecordLeft), by 'name/group'. */
function rateTokens(flow: FlowView, shape: FlowShape | undefined): Map<string, string> {
  const out = new Map<string, string>();
  const perMs = shape?.groupRate?.perMs ?? 0;
  const counted = [
    ...flow.rate.records.filter((r) => r.window.startsWith('g\0') && r.at > flow.rate.now - perMs),
    ...flow.rate.markers.filter((m) => m.window.startsWith('g\0')),
    ...flow.rate.reservations.filter((m) => m.window.startsWith('g\0')),
  ];
  for (const r of counted)
    out.set(windowName(r.window), `a token of entry ${r.entryId} in window ${windowName(r.window)}`);
  return out;
}

/** Entries and delayed members carry their group, not their task name: pairs are keyed by group. */
const groupOf = (pair: string): string => pair.slice(pair.indexOf('/') + 1);

/**
 * A group's state is in one partition: its held slots, waiting tasks, admitted entries, delayed
 * runs and counted rate tokens are never split across partitions, also across a count change
 * (layout.lua freezes only partitions holding no flow state, and a producer of another count is
 * refused). Split, the group's limit would be counted twice, once in each partition.
 */
export const flowGroupInOnePartition: Check = acrossPartitions((world, snaps) => {
  const where = new Map<string, Map<number, string>>();
  snaps.forEach((snap, p) => {
    if (!snap.flow) return;
    for (const [pair, what] of groupStates(snap.flow, snap, world.shape.flow)) {
      const group = groupOf(pair);
      const at = where.get(group) ?? new Map<number, string>();
      if (!at.has(p)) at.set(p, what);
      where.set(group, at);
    }
  });
  const out: Violation[] = [];
  // Without a group limit the ungrouped tasks go to every partition in turn: nothing counts them as one.
  const spread = world.shape.flow !== undefined && !holdsGroupLimit(world.shape.flow);
  for (const [group, at] of where)
    if (at.size > 1 && !(spread && group === ''))
      out.push(
        violation(
          'flowGroupInOnePartition',
          'split',
          `group ${group || '(ungrouped)'} is in partitions ${[...at.keys()].join(' and ')}: ${[...at]
            .map(([p, what]) => `p${p}: ${aliased(world, what)}`)
            .join('; ')}`,
        ),
      );
  return out;
});

/**
 * A group's limit holds over all partitions together: an admission never takes the group's held
 * slots, counted in every partition, above the limit recorded where it admitted (a lowered limit
 * may leave runs above it, as flowWithinLimits allows).
 */
export const flowGroupLimitAcrossPartitions: Check = acrossPartitions((world, snaps, prevs) => {
  const held = new Map<string, { ids: string[]; limit: number; admitted: string[] }>();
  snaps.forEach((snap, p) => {
    const flow = snap.flow;
    if (!flow) return;
    for (const [id, slot] of flow.held) {
      const pair = `${slot.name}\0${slot.group}`;
      const entry = held.get(pair) ?? { ids: [], limit: 0, admitted: [] };
      entry.ids.push(`${world.alias(id)}@p${p}`);
      if (prevs?.[p]?.flow?.held.get(id)?.entryId !== slot.entryId) {
        entry.admitted.push(world.alias(id));
        entry.limit = Math.max(entry.limit, flow.limits.get(slot.name)?.group ?? 0);
      }
      held.set(pair, entry);
    }
  });
  const out: Violation[] = [];
  for (const [pair, { ids, limit, admitted }] of held)
    if (admitted.length > 0 && limit > 0 && ids.length > limit)
      out.push(
        violation(
          'flowGroupLimitAcrossPartitions',
          'group',
          `group ${pair.replace('\0', '/')} holds ${ids.length} > ${limit} slots over the partitions after admitting ${admitted.join(' ')}: ${ids.join(' ')}`,
        ),
      );
  return out;
});

/**
 * The count change waits for flow state to drain: a freeze that layout.lua did found no flow
 * state in its partition (a task waiting, one holding a slot, a rate token counted), and a
 * frozen partition never holds any (it takes no write until the commit). A count change that
 * commits so moved every group only while none of it was anywhere.
 */
export const countChangeWaitsForFlow: Check = acrossPartitions((world, snaps, prevs, step) => {
  const out: Violation[] = [];
  const stateOf = (snap: Snapshot) => (snap.flow ? flowState(snap.flow, world.shape.flow) : undefined);
  if (step.froze !== undefined && prevs) {
    const held = stateOf(prevs[step.froze]);
    if (held)
      out.push(
        violation(
          'countChangeWaitsForFlow',
          'freeze',
          `layout.lua froze p${step.froze} while it held flow state: ${aliased(world, held)}`,
        ),
      );
  }
  snaps.forEach((snap, p) => {
    const held = snap.layout.includes('>') ? stateOf(snap) : undefined;
    if (held)
      out.push(
        violation(
          'countChangeWaitsForFlow',
          'frozen',
          `p${p} is frozen (${snap.layout}) and holds flow state: ${aliased(world, held)}`,
        ),
      );
  });
  return out;
});

/** What flow state a partition holds, as layout.lua's holdsFlowState judges it; undefined for none. */
function flowState(flow: FlowView, shape: FlowShape | undefined): string | undefined {
  const [held] = flow.held.keys();
  if (held !== undefined) return `${held} holds a slot`;
  const [waiting] = [...flow.room.map((w) => w.id), ...flow.waits.keys()];
  if (waiting !== undefined) return `${waiting} waits for a slot`;
  const taskTokens = flow.rate.records.filter(
    (r) => r.window.startsWith('t\0') && r.at > flow.rate.now - (shape?.rate?.perMs ?? 0),
  );
  const [token] = [...rateTokens(flow, shape).values(), ...taskTokens.map((r) => `a start in ${windowName(r.window)}`)];
  return token;
}

/** A message with the explorer's task ids (the first word) given as aliases. */
function aliased(world: World, what: string): string {
  const [id, ...rest] = what.split(' ');
  return [world.alias(id), ...rest].join(' ');
}

/** Checked after every step in a partitioned world with flow control. */
export const PARTITIONED_FLOW_INVARIANTS: Check[] = [
  flowGroupInOnePartition,
  flowGroupLimitAcrossPartitions,
  countChangeWaitsForFlow,
];

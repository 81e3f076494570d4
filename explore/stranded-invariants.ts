import type { Check, Violation } from './invariants';
import { partitionOf } from './protocol-adapter';
import type { Snapshot } from './snapshot';
import type { Step } from './steps';
import type { World } from './world';

/**
 * A key's running run whose delivery is gone (its entry deleted, or not pending in the group:
 * includes/stranded-run.lua's strandedRunOwner): its entry id, or undefined.
 */
export function strandedRun(snap: Snapshot, key: string): string | undefined {
  const fields = snap.keyStates.get(key)?.fields;
  const rmid = fields?.rmid;
  if (fields?.state !== 'running' || !rmid || !fields.rown) return undefined;
  return snap.pending.has(rmid) && snap.stream.has(rmid) ? undefined : rmid;
}

/**
 * A stranded run (README, Keys: a stranded run) is taken over unless its worker still holds the
 * lease it was claimed under, and never while it does. Judged at each keyed enqueue, on the key's
 * state before it:
 * - `held-after-lapse`: an enqueue returned the stranded run though its worker died, or its
 *   liveness key lapsed or took a new value since the claim: nothing will ever end that run, so
 *   the key was held for good;
 * - `taken-from-live`: an enqueue (not a replace) made a new run beside a stranded run whose
 *   worker holds that lease and whose handler is still going (running, or its settle to come);
 * - `held-for-good`: after the drain (every handler ended, every settle done) the probe's
 *   enqueue still got the stranded run back, from a live worker with nothing left to end it.
 */
export const strandedRunTakenOver: Check = (world, _snaps, prevs, step) => {
  const answer = step.keyed;
  const prev = prevs?.[answer?.partition ?? 0];
  if (!answer || !prev) return [];
  const entryId = strandedRun(prev, answer.key);
  if (!entryId) return [];
  const owner = prev.keyStates.get(answer.key)?.fields.rown;
  const lost = world.claimLeaseLost(entryId);
  const violation = (tag: string, message: string): Violation[] => [
    { invariant: 'strandedRunTakenOver', tag, message: `key ${answer.key}: ${message}` },
  ];
  const run = `its run ${world.alias(prev.stream.get(entryId)?.id ?? entryId)} (entry gone, on ${owner})`;
  if (!answer.created && answer.probe)
    return violation('held-for-good', `after the drain an enqueue still returned ${run}; nothing will end it`);
  if (!answer.created && answer.mode === 'add' && lost === true)
    return violation('held-after-lapse', `an enqueue returned ${run} though that lease is gone`);
  if (answer.created && answer.mode === 'add' && lost === false && going(world, entryId))
    return violation('taken-from-live', `an enqueue made a new run beside ${run}, whose worker holds its lease`);
  return [];
};

/** A run whose handler its worker still runs legitimately, or whose settle is still to come. */
function going(world: World, entryId: string): boolean {
  if (world.runs.some((r) => r.info.entryId === entryId && world.legit(r))) return true;
  return world.live().some((w) => w.outcomes.some((o) => o.delivery.message.entryId === entryId));
}

/**
 * The probes after the drain: an enqueue of each key (not the periodic one) whose run is still
 * stranded, from a client process that maps it to the partition that holds it.
 */
export function strandedProbes(world: World): Step[] {
  const probes: Step[] = [];
  world.snapshots.forEach((snap, p) => {
    for (const key of world.shape.keys) {
      if (!strandedRun(snap, key)) continue;
      const by = (['stale', 'fresh'] as const).find((b) => partitionOf(key, world.countOf(b)) === p);
      if (by === undefined) continue;
      const id = `p${probes.length + 1}`;
      probes.push({ op: 'enqueue', kind: 'keyed', id, key, probe: true, ...(world.countChange ? { by } : {}) });
    }
  });
  return probes;
}

/**
 * The stranded run a cancel of `key` in partition `p` leaves to its worker's settle, judged on
 * the state before the cancel: its entry id when the lease it was claimed under still holds
 * (cancel.lua ends one whose lease lapsed at once). Should that worker die before settling it,
 * no settle comes: the sweep ends it (cancel-stranded-run-owner-dies-after.json), and a state
 * left after the drain is tagged by it.
 */
export function strandedAtCancel(world: World, key: string, p: number): string | undefined {
  const snap = world.snapshots[p];
  const entryId = snap && strandedRun(snap, key);
  return entryId && world.claimLeaseLost(entryId) === false ? entryId : undefined;
}

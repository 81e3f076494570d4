import type { Violation } from './invariants';
import { describe, PERIODIC_KEY } from './protocol-adapter';
import type { Step } from './steps';
import type { World } from './world';
import { ELAPSE_MS } from './worlds';

const ROUNDS = 8;

/**
 * The quiescent drain after a schedule: every live worker heartbeats, sweeps (recover, then
 * reclaim of dead owners), time passes for the rate windows (a rate world), the queue promotes
 * (serving due wakes), every worker reads, runs and settles everything it holds, round after
 * round, until every acknowledged task has ended or the rounds run out. Handlers succeed here:
 * what is left unsettled afterwards is stuck, which the progress invariant reports.
 */
export async function drain(world: World, exec: (step: Step) => Promise<Violation[]>): Promise<Violation[]> {
  const run = async (steps: Step[]): Promise<Violation[]> => {
    for (const step of steps) {
      const found = await exec(step);
      if (found.length > 0) return found;
    }
    return [];
  };
  // A queue left paused is resumed, and every worker hears it (its reply-held polls released).
  const resumed: Step[] = world.pauseCalls.get(world.newestPauseCall()) ? [{ op: 'pause', paused: false }] : [];
  const opened = await run(resumed);
  if (opened.length > 0) return opened;
  for (const w of world.live()) {
    const found = await run([
      ...(w.wire.heldCount > 0 ? [{ op: 'release', w: w.index } as Step] : []),
      ...w.notices.map((): Step => ({ op: 'hear', w: w.index })),
      { op: 'poll', w: w.index },
    ]);
    if (found.length > 0) return found;
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const w of world.live()) {
      const found = await run([
        ...(w.wire.heldCount > 0 ? [{ op: 'release', w: w.index } as Step] : []),
        { op: 'heartbeat', w: w.index },
      ]);
      if (found.length > 0) return found;
    }
    for (const w of world.live()) {
      const found = await run([
        { op: 'recover', w: w.index },
        { op: 'reclaim', w: w.index, judge: 'dead' },
      ]);
      if (found.length > 0) return found;
    }
    // Rate windows free their tokens only as time passes: enough for the longest window.
    const flow = world.shape.flow;
    if (flow?.rate || flow?.groupRate) {
      const longest = Math.max(flow.rate?.perMs ?? 0, flow.groupRate?.perMs ?? 0);
      for (let ms = 0; ms < longest; ms += ELAPSE_MS) {
        const found = await exec({ op: 'elapse' });
        if (found.length > 0) return found;
      }
    }
    const promoted = await exec({ op: 'promote' });
    if (promoted.length > 0) return promoted;
    for (const w of world.live()) {
      const found = await run([
        { op: 'read', w: w.index },
        ...w.inbox.map((): Step => ({ op: 'deliver', w: w.index })),
        { op: 'deliver', w: w.index },
      ]);
      if (found.length > 0) return found;
      const starts = w.admitted.map((d): Step => ({ op: 'start', w: w.index, task: world.alias(describe(d).taskId) }));
      const startFound = await run(starts);
      if (startFound.length > 0) return startFound;
      const ends = [...w.running.values()].map((r): Step => ({
        op: 'end',
        w: w.index,
        task: world.alias(r.info.taskId),
        ok: true,
      }));
      const endFound = await run(ends);
      if (endFound.length > 0) return endFound;
      for (let i = 0; i < 3 && w.outcomes.length > 0; i++) {
        const settled = await exec({ op: 'settle', w: w.index });
        if (settled.length > 0) return settled;
      }
    }
    if (finished(world)) return [];
  }
  return [];
}

/** Every acknowledged non-periodic task ended, and nothing but periodic runs is pending. */
function finished(world: World): boolean {
  const periodic = new Set(
    [...world.tasks.values()].filter((t) => t.periodic || t.key === PERIODIC_KEY).map((t) => t.id),
  );
  const waiting = [...world.tasks.values()].some(
    (t) => t.acknowledged && !t.periodic && !t.settled && !world.superseded(t.id, t.key),
  );
  const busy = world.snapshots.some((snap) =>
    [...snap.pending.keys()].some((id) => !periodic.has(snap.stream.get(id)?.id ?? '')),
  );
  return !waiting && !busy;
}

import { createGroup, purgeDeadLetters } from './protocol-adapter';
import { unsettledEntry } from './snapshot';
import type { Step, StepResult } from './steps';
import type { World } from './world';

/**
 * What an operator deletes from a queue's stream: all of it (`stream`: a DEL of the key, its
 * group and pending list with it), every entry (`trim`: XTRIM MAXLEN 0, as a MAXLEN trim that
 * caught up with the unsettled entries; the group and its pending rows stay), or one task's
 * entry (`entry`: an XDEL); or every dead letter of the partition (`dead-letters`:
 * purge-dead-letters.lua, as before a count change, which a dead letter holds back).
 */
export type PurgeKind = 'stream' | 'trim' | 'entry' | 'dead-letters';

const NOOP: StepResult = { applied: false, note: 'n/a' };

/**
 * Waits until Redis's clock is past millisecond `ms`. A stream made anew numbers its entries from
 * Redis's time alone: an entry added in the millisecond of a deleted one takes that one's id,
 * which a key state may still name (mid, rmid). cancel.lua or a replace deleted the new entry
 * (closed: includes/run-entry.lua; test/attack/purged-entry-id-reuse.spec.ts reproduces it by
 * setting the stream's last id). It hangs on the clock, which schedules do not control, so a
 * trace of it would not replay: the explorer's purge comes a millisecond later.
 */
async function pastMs(world: World, ms: number): Promise<void> {
  for (;;) {
    const [seconds, micros] = await world.client.time();
    if (Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) > ms) return;
  }
}

/**
 * An operator purges partition `p`'s stream (0 unless given). The tasks whose unsettled entries
 * go are the operator's to lose: they count as settled ('purged'); a keyed one's state is left
 * naming the entry, for the scripts to judge (includes/stranded-run.lua). After a DEL the
 * worker's next read gets NOGROUP and creates the group again (QueueReads.ensureGroup, from
 * '0'): modelled as at once.
 */
export async function purgeStep(world: World, step: Extract<Step, { op: 'purge' }>): Promise<StepResult> {
  const keys = world.parts[step.p ?? 0];
  const snap = world.snapshots[step.p ?? 0];
  if (!keys || !snap) return NOOP;
  if (step.what === 'dead-letters') {
    if (snap.deadLettered.size === 0) return NOOP;
    const purged = await purgeDeadLetters(world.client, keys);
    return { applied: true, note: `dead letters purged${world.where(keys.partition)}: ${purged}` };
  }
  const target = step.what === 'entry' ? world.byAlias(step.task ?? '') : undefined;
  const gone = [...snap.stream].filter(([, c]) => step.what !== 'entry' || c.id === target?.id);
  if (gone.length === 0) return NOOP;
  if (step.what === 'stream') {
    await world.client.del(keys.stream);
    await createGroup(world.client, keys);
    await pastMs(world, Math.max(...[...snap.stream.keys()].map((id) => Number(id.split('-')[0]))));
  } else if (step.what === 'trim') {
    await world.client.xtrim(keys.stream, 'MAXLEN', 0);
  } else {
    await world.client.xdel(keys.stream, ...gone.map(([id]) => id));
  }
  const lost: string[] = [];
  for (const [entryId, c] of gone) {
    world.purged.add(entryId);
    const task = world.tasks.get(c.id);
    if (!task || task.settled || !unsettledEntry(snap, entryId)) continue;
    task.settled = 'purged';
    lost.push(task.alias);
  }
  const what = step.what === 'stream' ? 'stream deleted' : step.what === 'trim' ? 'stream trimmed' : 'entry deleted';
  return {
    applied: true,
    note: `${what}${world.where(keys.partition)}: ${gone.length} entries, unsettled [${lost.join(' ')}]`,
  };
}

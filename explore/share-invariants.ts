import type { Check, Violation } from './invariants';
import { TASK } from './protocol-adapter';
import type { LedgerStart } from './rate-ledger';
import { partitionOfStart } from './rate-invariants';
import type { World } from './world';

/**
 * The task's own limits on a partitioned queue (the `shares` world): each partition enforces a
 * fixed share of globalConcurrency and rateLimit.max (lib/task/flow-limits.ts), so the fleet
 * stays within the whole limit only if every partition stays within its share and the shares
 * sum to the limit. These checks count across the partitions against the shares computed here,
 * not against what the partitions recorded: a partition recording more than its share fails them.
 */
const violation = (invariant: string, tag: string, message: string): Violation => ({ invariant, tag, message });

/** Partition `p`'s share of `limit` over `count` partitions, as the README states it. */
export const shareOf = (limit: number, p: number, count: number): number =>
  Math.floor(limit / count) + (p < limit % count ? 1 : 0);

/** A fixed count of more than one partition (a count change's shares switch: not checked here). */
const fixedCount = (world: World): number | undefined =>
  world.shape.partitions !== undefined && world.parts.length > 1 && !world.countChange ? world.parts.length : undefined;

/**
 * Slots: the task's held slots number at most its share in each partition and at most
 * globalConcurrency summed over all of them, after every step.
 */
export const globalSharesHeld: Check = (world, snaps) => {
  const count = fixedCount(world);
  const limit = world.shape.flow?.global ?? 0;
  if (count === undefined || limit === 0) return [];
  const out: Violation[] = [];
  const all: string[] = [];
  snaps.forEach((snap, p) => {
    const ids = [...(snap.flow?.held ?? [])].filter(([, slot]) => slot.name === TASK).map(([id]) => world.alias(id));
    all.push(...ids.map((id) => `${id}@p${p}`));
    const share = shareOf(limit, p, count);
    if (ids.length > share)
      out.push(
        violation(
          'globalSharesHeld',
          'partition',
          `p${p} holds ${ids.length} > its share ${share} of ${limit}: ${ids.join(' ')}`,
        ),
      );
  });
  if (all.length > limit)
    out.push(
      violation('globalSharesHeld', 'fleet', `the partitions hold ${all.length} > ${limit} slots: ${all.join(' ')}`),
    );
  return out;
};

/**
 * Rate: the task's tokens taken now (starts of the last perMs and pending markers) number at
 * most its share of rateLimit.max in each partition and at most max over all of them; and over
 * the whole schedule no interval of perMs holds more starts than a partition's share in it, or
 * than max in all of them (the ledger keeps every start record seen, of every partition).
 */
export const rateSharesTaken: Check = (world, snaps) => {
  const count = fixedCount(world);
  const rate = world.shape.flow?.rate;
  if (count === undefined || !rate) return [];
  const window = `t\0${TASK}`;
  const out: Violation[] = [];
  const starts = world.rates.startsOf(window);
  let fleet = 0;
  snaps.forEach((snap, p) => {
    if (!snap.flow) return;
    const now = world.rates.nowOf(snap.flow.rate);
    const recent = starts.filter((s) => partitionOfStart(s) === p && s.at > now - rate.perMs).length;
    const taken = recent + snap.flow.rate.markers.filter((m) => m.window === window).length;
    fleet += taken;
    const share = shareOf(rate.max, p, count);
    if (taken > share)
      out.push(
        violation('rateSharesTaken', 'partition', `p${p} took ${taken} tokens > its share ${share} of ${rate.max}`),
      );
  });
  if (fleet > rate.max)
    out.push(violation('rateSharesTaken', 'fleet', `the partitions took ${fleet} tokens > ${rate.max}`));
  const overrun = (of: LedgerStart[], max: number) =>
    of
      .map((first) => of.filter((s) => s.at >= first.at && s.at < first.at + rate.perMs))
      .find((within) => within.length > max);
  for (let p = 0; p < count; p++) {
    const share = shareOf(rate.max, p, count);
    const within = overrun(
      starts.filter((s) => partitionOfStart(s) === p),
      share,
    );
    if (within)
      out.push(
        violation(
          'rateSharesTaken',
          'partition-interval',
          `p${p}: ${within.length} starts > its share ${share} within perMs: ${within.map((s) => s.entryId).join(' ')}`,
        ),
      );
  }
  const within = overrun(starts, rate.max);
  if (within)
    out.push(
      violation(
        'rateSharesTaken',
        'fleet-interval',
        `${within.length} starts > ${rate.max} within perMs over the partitions: ${within.map((s) => s.entryId).join(' ')}`,
      ),
    );
  return out;
};

/** Checked after every step in a world of fixed partitions whose task has its own limits. */
export const SHARE_INVARIANTS: Check[] = [globalSharesHeld, rateSharesTaken];

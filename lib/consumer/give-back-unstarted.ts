import { uncountScript, type UncountEntry } from '../scripts/uncount.script';
import type { Delivery } from './delivery';
import type { QueueContext } from './queue-context';

/**
 * @internal Gives back the deliveries of entries this worker lets go without having started their
 * runs (uncount.lua): the next worker to take one (or this one's recovery) counts where this one
 * did, so maxDeliveries, which is there for runs that kill or stall their worker, is never
 * reached by runs that were only held. A rate-limited run's start, counted by its claim, goes
 * back with it: the token its admission took is its own again. Never throws: an entry not given
 * back (Redis unreachable) keeps its count and its start, as before.
 */
export async function giveBackUnstarted(ctx: QueueContext, deliveries: readonly Delivery[]): Promise<void> {
  if (deliveries.length === 0) return;
  const { keys, group, consumer, redis, logger, queue } = ctx;
  const entries = deliveries.map(unstartedEntry);
  try {
    await uncountScript(keys, { group, consumer, entries }).run(redis);
  } catch (error) {
    logger.warn(
      `Queue "${queue}": could not give back the deliveries of ${entries.length} run(s) that did not start (${(error as Error).message}); each counts towards maxDeliveries.`,
    );
  }
}

function unstartedEntry(d: Delivery): UncountEntry {
  const { entryId, id } = d.message;
  const start = d.startedAt === undefined ? undefined : { taskId: id, startedAt: d.startedAt };
  return { entryId, deliveries: d.deliveries, start };
}

import { uncountScript } from '../scripts/uncount.script';
import type { QueueContext } from './queue-context';

/** A pending entry this worker lets go, with its deliveries as this worker holds it. */
export interface Unstarted {
  readonly entryId: string;
  readonly deliveries: number;
}

/**
 * @internal Gives back the deliveries of entries this worker lets go without having started
 * their runs (uncount.lua): the next worker to take one (or this one's recovery) counts where
 * this one did, so maxDeliveries, which is there for runs that kill or stall their worker, is
 * never reached by runs that were only held. Never throws: an entry not given back (Redis
 * unreachable) keeps its count, as before.
 */
export async function giveBackUnstarted(ctx: QueueContext, entries: readonly Unstarted[]): Promise<void> {
  if (entries.length === 0) return;
  const { keys, group, consumer, redis, logger, queue } = ctx;
  try {
    await uncountScript(keys, { group, consumer, entries }).run(redis);
  } catch (error) {
    logger.warn(
      `Queue "${queue}": could not give back the deliveries of ${entries.length} run(s) that did not start (${(error as Error).message}); each counts towards maxDeliveries.`,
    );
  }
}

import type { Handover } from './intake';
import { monotonicMs } from './lease';
import type { QueueContext } from './queue-context';
import { recoverReserved, type PendingRow } from './recover-reserved';

/**
 * @internal The entries of one partition whose keyed claim answered unproven (claim.lua code 5:
 * this worker's liveness value was not proven its own, after a Redis restart without persistence
 * or a lapse) and that were given back, still pending under this consumer. The sweep's recovery
 * would take them again only after its idle time and at its next pass (a sweep interval, which
 * users set to a minute); the consumer takes them sooner, at the next beat Redis confirms.
 * Taken as the recovery takes an entry (recover.lua): only one still pending under this
 * consumer comes back, so one another worker reclaimed meanwhile stays its. What comes back is
 * admitted like any handover, its keyed claim judging it again: nothing starts unproven.
 */
export class UnprovenRetakes {
  private readonly entryIds = new Set<string>();

  constructor(private readonly ctx: QueueContext) {}

  get size(): number {
    return this.entryIds.size;
  }

  remember(entryIds: readonly string[]): void {
    for (const id of entryIds) this.entryIds.add(id);
  }

  /**
   * Takes back the remembered entries it has slots for, each holding a reserved slot; the others
   * stay remembered for the next beat (or the recovery). Each is forgotten once tried: one not
   * returned is another worker's, settled or gone. Those in flight here (the recovery took them)
   * and those at the delivery limit (the recovery dead-letters them) are left to the recovery.
   */
  async take(): Promise<Handover> {
    const { redis, keys, group, consumer, inFlight, slots, config } = this.ctx;
    const sentAt = monotonicMs();
    const ids = [...this.entryIds].filter((id) => !inFlight.has(id));
    this.entryIds.clear();
    if (ids.length === 0) return { entries: [], sentAt };
    const pipeline = redis.pipeline();
    for (const id of ids) pipeline.xpending(keys.stream, group, id, id, 1, consumer);
    const replies = (await pipeline.exec()) ?? [];
    const rows = replies.flatMap(([error, rowsOf]) => (error ? [] : (rowsOf as PendingRow[])));
    const takeable = rows.filter(([id, , , deliveries]) => !inFlight.has(id) && deliveries < config.maxDeliveries);
    const n = slots.reserve(takeable.length);
    this.remember(takeable.slice(n).map(([id]) => id));
    if (n === 0) return { entries: [], sentAt };
    return { entries: await recoverReserved(this.ctx, takeable.slice(0, n)), sentAt };
  }
}

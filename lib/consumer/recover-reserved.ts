import type { ScriptEntry } from '../redis/scripts';
import { recoverScript } from '../scripts/recover.script';
import { monotonicMs } from './lease';
import type { QueueContext } from './queue-context';

/** @internal XPENDING's extended form: [entry id, owner, idle ms, deliveries]. */
export type PendingRow = [string, string, number, number];

/**
 * @internal Takes back `rows`, this consumer's pending entries, each holding a slot the caller
 * reserved (recover.lua: atomically, so one another worker reclaimed since the XPENDING that
 * listed it is not returned). The slots of those not returned are released; all of them when the
 * call fails. A reply to a read sent before now may hand over an entry taken back here, and run
 * and settled meanwhile: recoveredAt makes such a reply prove nothing (Intake checks it again).
 */
export async function recoverReserved(ctx: QueueContext, rows: readonly PendingRow[]): Promise<ScriptEntry[]> {
  const { redis, keys, group, consumer, slots, inFlight } = ctx;
  const entries = await recoverScript(keys, {
    group,
    consumer,
    entryIds: rows.map(([id]) => id),
    deliveries: rows.map(([, , , deliveries]) => deliveries),
  })
    .run(redis)
    .catch((error: unknown) => {
      slots.release(rows.length);
      throw error;
    });
  slots.release(rows.length - entries.length);
  if (entries.length > 0) inFlight.recoveredAt = monotonicMs();
  return entries;
}

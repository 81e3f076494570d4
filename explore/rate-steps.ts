import { parseMember, RATE_PENDING, RATE_RESERVED, recordMember } from './rate-snapshot';
import type { StepResult } from './steps';
import type { World } from './world';
import { ELAPSE_MS } from './worlds';

const NOOP: StepResult = { applied: false, note: 'n/a' };

/**
 * ELAPSE_MS pass for the rate windows. Schedules cannot move Redis's clock, so the times it
 * stored move back instead, in one MULTI: each start record's (in its member's lex encoding)
 * and each wake's. Pending markers and reservations hold no time and stay. The ledger's clock moves forward by
 * as much, so every record keeps its time there. Nothing else in a rate world reads the clock
 * (delayed members are made due by `promote`), so this is time passing as scripts see it.
 * The workers' held deliveries keep Redis times too (Delivery.startedAt, the start a claim counted,
 * which the claim at a run held by a pause looks its record up by, exactly: rate.lua's
 * rateEarlierRecord, as uncount.lua's give-back does): they move back with the records. Left as
 * they were, a held start named a time after its own record, which real time never makes: the
 * claim missed the record, still in its window, and counted the run's start twice.
 */
export async function elapseStep(world: World): Promise<StepResult> {
  const flow = world.shape.flow;
  if (!flow?.rate && !flow?.groupRate) return NOOP;
  let records = 0;
  let wakes = 0;
  for (const keys of world.parts) {
    const { starts, wake } = keys.flow;
    const members = await world.client.zrange(starts, 0, -1);
    const scored = await world.client.zrange(wake, 0, -1, 'WITHSCORES');
    const tx = world.client.multi();
    for (const member of members) {
      const m = parseMember(member);
      if (m.at === RATE_PENDING || m.at === RATE_RESERVED) continue;
      tx.zrem(starts, member).zadd(starts, 0, recordMember(m.window, Number(m.at) - ELAPSE_MS, m.entryId, m.delivery));
      records++;
    }
    for (let i = 0; i + 1 < scored.length; i += 2) {
      tx.zadd(wake, Number(scored[i + 1]) - ELAPSE_MS, scored[i]);
      wakes++;
    }
    await tx.exec();
  }
  if (records + wakes === 0) return NOOP;
  for (const w of world.workers) for (const d of w.admitted) if (d.startedAt !== undefined) d.startedAt -= ELAPSE_MS;
  world.rates.elapsedMs += ELAPSE_MS;
  return { applied: true, note: `${records} start record(s), ${wakes} wake(s) moved back` };
}

import { InFlight } from '../../lib/consumer/in-flight';
import { Intake, type RawEntry } from '../../lib/consumer/intake';
import { monotonicMs } from '../../lib/consumer/lease';
import { Slots } from '../../lib/consumer/slots';
import { settleContext } from '../fixtures/settle-context';
import { createRedis, useSpecRedis } from '../utils/helpers';

/**
 * Issue 9, hole 6: Intake.admit marked entries in flight before an await that can reject; on a
 * rejection they never ran, recovery skipped them (held in memory) and their slots leaked for the
 * worker's life. Admit must never reject and never strand: what it cannot hand over leaves the
 * in-flight set and frees its slot, still pending in Redis for the recovery.
 */
describe('Intake never strands a delivery', () => {
  const { prefix, redis } = useSpecRedis();

  it('a Redis failure while admitting frees every slot and in-flight mark; the entries stay pending', async () => {
    const { ctx, keys } = await settleContext(redis, prefix);
    // A connection that fails every command for real (closed), as a cut does mid-admit.
    const broken = createRedis();
    broken.disconnect();
    const inFlight = new InFlight();
    const slots = new Slots(4);
    const intake = new Intake({ ...ctx, redis: broken, inFlight, slots });
    // One unkeyed entry with bytes that are not UTF-8 (admit reads it again as bytes) and one keyed
    // entry (admit runs the claim script): both need Redis before they can be handed over.
    await redis.xadd(keys.stream, '*', 'id', 't1', 'n', 'job', 'p', Buffer.from([0x22, 0xff, 0x22]));
    await redis.xadd(keys.stream, '*', 'id', 't2', 'n', 'job', 'p', '1', 'k', 'key', 'g', '1');
    const reply = (await redis.xreadgroup('GROUP', 'workers', 'me', 'COUNT', 2, 'STREAMS', keys.stream, '>')) as [
      string,
      RawEntry[],
    ][];
    const entries = reply[0][1];
    expect(slots.reserve(entries.length)).toBe(2);

    await expect(intake.admit({ entries, sentAt: monotonicMs() })).resolves.toEqual([]);

    expect(inFlight.size).toBe(0);
    expect(slots.reserve(4)).toBe(4); // every slot came back
    const pending = (await redis.xpending(keys.stream, 'workers')) as [number, ...unknown[]];
    expect(pending[0]).toBe(2); // still this consumer's, for its recovery to admit again
  });
});

import { InFlight } from '../../lib/consumer/in-flight';
import { Intake, type RawEntry } from '../../lib/consumer/intake';
import { monotonicMs } from '../../lib/consumer/lease';
import { Slots } from '../../lib/consumer/slots';
import { settleContext } from '../fixtures/settle-context';
import { createRedis, useSpecRedis } from '../utils/helpers';

/**
 * Attack on hole 6's fix: claimWhereNeeded removes the unkeyed deliveries it hands over without
 * a claim from `held` BEFORE awaiting the claim of the keyed ones. When that claim rejects, the
 * catch in admit drops only what is left in `held`: the unkeyed ones stay in the in-flight set
 * with their slots, never run, and the sweep's recovery skips them (held in memory).
 */
describe('attack: Intake strands unkeyed runs when the claim of their keyed neighbours fails', () => {
  const { prefix, redis } = useSpecRedis();

  it('a failed claim frees the slot and in-flight mark of an unkeyed entry of the same batch', async () => {
    const { ctx, keys } = await settleContext(redis, prefix);
    const broken = createRedis();
    broken.disconnect();
    const inFlight = new InFlight();
    const slots = new Slots(4);
    const intake = new Intake({ ...ctx, redis: broken, inFlight, slots });
    // Plain UTF-8 fields: admit needs Redis only for the keyed entry's claim.
    await redis.xadd(keys.stream, '*', 'id', 't1', 'n', 'job', 'p', '1');
    await redis.xadd(keys.stream, '*', 'id', 't2', 'n', 'job', 'p', '1', 'k', 'key', 'g', '1');
    const reply = (await redis.xreadgroup('GROUP', 'workers', 'me', 'COUNT', 2, 'STREAMS', keys.stream, '>')) as [
      string,
      RawEntry[],
    ][];
    const entries = reply[0][1];
    expect(slots.reserve(entries.length)).toBe(2);

    const admitted = await intake.admit({ entries, sentAt: monotonicMs() });

    // Either the unkeyed run is handed over (it is provably ours), or it is released for recovery;
    // never neither.
    if (admitted.length === 0) {
      expect(inFlight.size).toBe(0);
      expect(slots.reserve(4)).toBe(4);
    } else {
      expect(admitted.map((d) => d.message.id)).toEqual(['t1']);
      expect(inFlight.size).toBe(1);
    }
  });

  it('a failed re-read of non-UTF-8 bytes frees the slot of a malformed entry of the same batch', async () => {
    const { ctx, keys } = await settleContext(redis, prefix, 'q2');
    const broken = createRedis();
    broken.disconnect();
    const inFlight = new InFlight();
    const slots = new Slots(4);
    const intake = new Intake({ ...ctx, redis: broken, inFlight, slots });
    // A malformed entry (no payload: dead-lettered, its slot released after) and one whose bytes
    // must be read again (admit's first await, which fails here).
    await redis.xadd(keys.stream, '*', 'id', 't1', 'n', 'job');
    await redis.xadd(keys.stream, '*', 'id', 't2', 'n', 'job', 'p', Buffer.from([0x22, 0xff, 0x22]));
    const reply = (await redis.xreadgroup('GROUP', 'workers', 'me', 'COUNT', 2, 'STREAMS', keys.stream, '>')) as [
      string,
      RawEntry[],
    ][];
    const entries = reply[0][1];
    expect(slots.reserve(entries.length)).toBe(2);

    await expect(intake.admit({ entries, sentAt: monotonicMs() })).resolves.toEqual([]);

    expect(inFlight.size).toBe(0);
    expect(slots.reserve(4)).toBe(4); // every slot came back
  });
});

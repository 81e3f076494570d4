import { InFlight } from '../../lib/consumer/in-flight';
import { Intake, type RawEntry } from '../../lib/consumer/intake';
import { monotonicMs } from '../../lib/consumer/lease';
import { Slots } from '../../lib/consumer/slots';
import { settleContext } from '../fixtures/settle-context';
import { useSpecRedis } from '../utils/helpers';

/**
 * Attack on `ctx.fence` of a task without a key: attempt * 2^20 + deliveries, where deliveries
 * is what the handover said. A read reply counts 1 delivery. A read reply delayed in transit is
 * re-checked by the claim script, which answers only "still yours": when the entry came back to
 * this worker through a takeover and back (B reclaimed and ran it with 2 deliveries, died, and
 * this worker reclaimed it: 3), the stale reply runs it with fence attempt * 2^20 + 1, LOWER
 * than B's. A handler writing `WHERE fence < $n` (the README's pattern) has its current run's
 * writes refused, since B's zombie run already wrote with the higher fence.
 */
describe('attack: the fence of an unkeyed run handed over by a stale read reply', () => {
  const { prefix, redis } = useSpecRedis();

  it('is above the fence of every earlier delivery of its entry', async () => {
    const { ctx, keys } = await settleContext(redis, prefix);
    const inFlight = new InFlight();
    const slots = new Slots(4);
    const intake = new Intake({ ...ctx, inFlight, slots });
    await redis.xadd(keys.stream, '*', 'id', 't1', 'n', 'job', 'p', '1');
    const sentAt = monotonicMs();
    // Served to this worker ('me'), the reply held in transit.
    const reply = (await redis.xreadgroup('GROUP', 'workers', 'me', 'STREAMS', keys.stream, '>')) as [
      string,
      RawEntry[],
    ][];
    const entries = reply[0][1];
    const [entryId] = entries[0];
    // Meanwhile: 'me' lapsed, 'b' reclaimed and ran it (delivery 2, fence 2^20 + 2), 'b' died,
    // 'me' (alive again) reclaimed it from 'b' (delivery 3) and recorded that recovery.
    await redis.xclaim(keys.stream, 'workers', 'b', 0, entryId);
    await redis.xclaim(keys.stream, 'workers', 'me', 0, entryId);
    inFlight.recoveredAt = monotonicMs() + 1;
    const [[, , , deliveries]] = (await redis.xpending(keys.stream, 'workers', '-', '+', 1)) as [
      string,
      string,
      number,
      number,
    ][];
    expect(deliveries).toBe(3);
    slots.reserve(1);

    // The delayed read reply arrives first: re-checked in Redis (it is this worker's), it runs.
    const [delivery] = await intake.admit({ entries, sentAt });
    expect(delivery.message.id).toBe('t1');

    // Its fence must exceed the one 'b' ran with (deliveries 2): deliveries >= 3.
    expect(delivery.deliveries).toBeGreaterThanOrEqual(deliveries);
  });
});

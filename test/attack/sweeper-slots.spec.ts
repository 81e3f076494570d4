import { InFlight } from '../../lib/consumer/in-flight';
import { Slots } from '../../lib/consumer/slots';
import { Sweeper } from '../../lib/consumer/sweeper';
import { defineScripts } from '../../lib/redis/scripts';
import { settleContext } from '../fixtures/settle-context';
import { createRedis, useSpecRedis } from '../utils/helpers';
import { interceptCommands } from '../fixtures/command-hooks';

/**
 * Attack on the sweeper's slot accounting: recover() reserves a slot per lost entry, then runs
 * the recover script; when that call fails (the connection is cut between the XPENDING and the
 * script, exactly the flapping network that loses read replies), the error leaves sweep() and
 * the pipeline's catchError swallows it: the reserved slots are never released. Each such
 * sweep leaks slots until the worker reads nothing for the rest of its life.
 */
describe('attack: a sweep that fails after reserving slots gives them back', () => {
  const { prefix, redis } = useSpecRedis();

  it('the recover script failing releases the slots recover() reserved', async () => {
    const { ctx, keys } = await settleContext(redis, prefix);
    // A connection of its own, cut for real right after the XPENDING reply (as a network flap does).
    const conn = createRedis();
    defineScripts(conn);
    const cutAfterXpending = interceptCommands(conn, {
      xpending: async (_args, send) => {
        const rows = await send();
        conn.disconnect();
        return rows;
      },
    });
    const inFlight = new InFlight();
    const slots = new Slots(4);
    const sweeper = new Sweeper({ ...ctx, redis: cutAfterXpending, inFlight, slots });
    // An entry this consumer holds in Redis but not in memory (a read reply lost with its
    // connection), idle long enough for the recovery.
    await redis.xadd(keys.stream, '*', 'id', 't1', 'n', 'job', 'p', '1');
    const [[, [[entryId]]]] = (await redis.xreadgroup('GROUP', 'workers', 'me', 'STREAMS', keys.stream, '>')) as [
      string,
      [string, string[]][],
    ][];
    await redis.xclaim(keys.stream, 'workers', 'me', 0, entryId, 'IDLE', 60_000);

    await expect(sweeper.sweep()).rejects.toThrow();

    expect(slots.reserve(4)).toBe(4); // every slot came back
  });

  it('a failure after the recovery (in the reclaim under the lock) hands over or releases what was recovered', async () => {
    const { ctx, keys } = await settleContext(redis, prefix, 'q2');
    const conn = createRedis();
    defineScripts(conn);
    // Cut for real when the sweep lists the group's consumers (dropDeadConsumers, after the reclaim).
    const cutAtXinfo = interceptCommands(conn, {
      xinfo: (_args, send) => {
        conn.disconnect();
        return send();
      },
    });
    const inFlight = new InFlight();
    const slots = new Slots(4);
    const sweeper = new Sweeper({ ...ctx, redis: cutAtXinfo, inFlight, slots });
    await redis.xadd(keys.stream, '*', 'id', 't1', 'n', 'job', 'p', '1');
    const [[, [[entryId]]]] = (await redis.xreadgroup('GROUP', 'workers', 'me', 'STREAMS', keys.stream, '>')) as [
      string,
      [string, string[]][],
    ][];
    await redis.xclaim(keys.stream, 'workers', 'me', 0, entryId, 'IDLE', 60_000);

    const swept = await sweeper.sweep().catch(() => ({ entries: [] }));

    // Either the recovered entry is handed over with its slot, or its slot is free again.
    expect(slots.reserve(4)).toBe(4 - swept.entries.length);
  });
});

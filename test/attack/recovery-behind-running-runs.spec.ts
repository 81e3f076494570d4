import { InFlight } from '../../lib/consumer/in-flight';
import type { RawEntry } from '../../lib/consumer/intake';
import { Slots } from '../../lib/consumer/slots';
import { Sweeper } from '../../lib/consumer/sweeper';
import { parseEntry, type TaskMessage } from '../../lib/task/task-message';
import { settleContext } from '../fixtures/settle-context';
import { useSpecRedis } from '../utils/helpers';

/** Runs this worker holds in memory, older than the lost entry: one recovery page's worth. */
const RUNNING = 200;

/**
 * Found by the newest-code review: the sweep's recovery (this consumer's own pending entries it
 * does not hold in memory: a read whose reply was lost, runs an admission gave back) read one
 * page of 200 of its idle pending entries, always the oldest, and dropped those it holds. A worker
 * with more than 200 runs in progress (concurrency up to 10,000; a long handler's entry is idle
 * for as long as it runs) found only those on that page, every sweep: an entry lost behind them
 * stayed pending under this live worker, which no other worker reclaims from, until enough of the
 * older runs ended (hours, for long handlers), and an admission failure's streak ended meanwhile
 * ("their runs were not brought back: gone"), so the health check said up. The recovery now pages
 * on across sweeps, as the reclaim does: a lost entry is found within a sweep per page.
 */
describe('attack: an entry lost behind more running runs than a recovery page', () => {
  const { prefix, redis } = useSpecRedis();

  it('is recovered within a few sweeps, while the older runs still run', async () => {
    const { ctx, keys } = await settleContext(redis, prefix);
    const inFlight = new InFlight();
    const slots = new Slots(RUNNING + 10);
    const sweeper = new Sweeper({ ...ctx, inFlight, slots });
    for (let i = 0; i <= RUNNING; i++) await redis.xadd(keys.stream, '*', 'id', `t${i}`, 'n', 'job', 'p', '1');
    const reply = (await redis.xreadgroup('GROUP', ctx.group, ctx.consumer, 'STREAMS', keys.stream, '>')) as [
      string,
      RawEntry[],
    ][];
    const entries = reply[0][1];
    // The oldest RUNNING are running here (held in memory, each with a slot); the newest is lost.
    expect(slots.reserve(RUNNING)).toBe(RUNNING);
    for (const [entryId, fields] of entries.slice(0, RUNNING))
      inFlight.add(parseEntry(entryId, fields) as TaskMessage, undefined, 1, slots.adopt());
    const lost = entries[RUNNING][0];
    // Every entry idle past the recovery's bound (running for a while, or lost a while ago).
    await redis.xclaim(keys.stream, ctx.group, ctx.consumer, 0, ...entries.map(([id]) => id), 'IDLE', 60_000);

    const taken: string[] = [];
    for (let sweep = 0; sweep < 3 && taken.length === 0; sweep++) {
      taken.push(...(await sweeper.sweep()).entries.map(([id]) => id));
    }
    expect(taken).toEqual([lost]);
  });
});

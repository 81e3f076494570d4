import { InFlight } from '../../lib/consumer/in-flight';
import { Slots } from '../../lib/consumer/slots';
import { Sweeper } from '../../lib/consumer/sweeper';
import { CONSUMER_LIST_LIMIT } from '../../lib/scripts/queue-state.script';
import { settleContext } from '../fixtures/settle-context';
import { useSpecRedis } from '../utils/helpers';
import { monitorNodeOf } from '../utils/redis';

/**
 * The sweep (under the sweep lock) removes dead consumers that hold nothing: it listed every
 * consumer of the workers' group (XINFO CONSUMERS), then sent one script per idle one, waiting for
 * each. Anyone who can write to Redis can create consumers (XGROUP CREATECONSUMER, one command
 * each): with 200,000 of them each sweep was a listing of about 80 ms of Redis time and a 20 MB
 * reply the worker parsed for most of a second, then, once they were idle past leaseMs, 200,000
 * round trips one after another: tens of seconds in which that worker reclaimed nothing, past the
 * sweep lock's TTL, so the next worker to take the lock did the same. The group's consumers are
 * now counted first (with its row, within the bound of groups): past CONSUMER_LIST_LIMIT they
 * are not listed, and the sweep warns once; within it, the dead ones are removed in one round
 * trip. A review finding; the spec failed.
 */
describe('attack: the sweep of a group with thousands of consumers', () => {
  const { prefix, redis } = useSpecRedis();

  async function consumers(stream: string, n: number): Promise<void> {
    const pipeline = redis.pipeline();
    for (let i = 0; i < n; i++) pipeline.xgroup('CREATECONSUMER', stream, 'workers', `junk-${i}`);
    expect((await pipeline.exec())?.every(([error]) => !error)).toBe(true);
  }

  async function sweepWatched(queue: string, n: number, leaseMs: number) {
    const { ctx, keys, logs } = await settleContext(redis, prefix, queue);
    await consumers(keys.stream, n);
    const config = { ...ctx.config, leaseMs };
    const sweeper = new Sweeper({ ...ctx, config, inFlight: new InFlight(), slots: new Slots(4) });
    await new Promise((resolve) => setTimeout(resolve, 20)); // idle past the lease
    const monitor = await monitorNodeOf(keys.stream);
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua' && args.some((a) => a.includes(keys.stream))) seen.push(args[0].toLowerCase());
    });
    for (let i = 0; i < 2; i++) await sweeper.sweep();
    await redis.ping();
    await new Promise((resolve) => setTimeout(resolve, 100));
    monitor.disconnect();
    const left = ((await redis.xinfo('GROUPS', keys.stream)) as unknown[][])[0][3];
    return { seen, logs, left };
  }

  it('past CONSUMER_LIST_LIMIT consumers: no listing, one warning, nothing sent per consumer', async () => {
    const { seen, logs, left } = await sweepWatched('many', CONSUMER_LIST_LIMIT + 500, 10);
    expect(seen.filter((c) => c === 'xinfo')).toEqual([]);
    // Two sweeps: each sends its few commands, none per consumer.
    expect(seen.length).toBeLessThan(20);
    expect(left).toBe(CONSUMER_LIST_LIMIT + 500);
    expect(logs.warnings()).toEqual([
      expect.stringMatching(/Queue "many": the consumer group has 1500 consumers, more than 1000/),
    ]);
  });

  it('control: within the bound, the dead consumers are removed in one sweep', async () => {
    const { left, logs } = await sweepWatched('few', 50, 10);
    expect(left).toBe(0);
    expect(logs.warnings()).toEqual([]);
  });
});

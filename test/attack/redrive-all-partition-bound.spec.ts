import { FleetReads } from '../../lib/client/fleet-reads';
import { QueueKeys } from '../../lib/redis/keys';
import { defineScripts } from '../../lib/redis/scripts';
import { useSpecRedis } from '../utils/helpers';
import { interceptCommands } from '../fixtures/command-hooks';

/**
 * Review finding: README says redriveAll() goes "up to the newest dead letter present when it
 * starts: tasks dead-lettered during the call are left for the next call". On a partitioned queue
 * each partition's bound was read when its own pass began: a task dead-lettered in partition 1
 * while partition 0 was being redriven was redriven by the same call.
 */
describe('redriveAll() bound on a partitioned queue', () => {
  const { prefix, redis } = useSpecRedis();

  it('a dead letter added to partition 1 during partition 0’s pass is left for the next call', async () => {
    defineScripts(redis);
    const p0 = new QueueKeys(prefix, 'q', 0);
    const p1 = new QueueKeys(prefix, 'q', 1);
    await redis.xadd(p0.deadLetter, '*', 'id', 'a', 'n', 'job', 'p', '1', 'reason', 'x');
    await redis.xadd(p1.deadLetter, '*', 'id', 'b', 'n', 'job', 'p', '2', 'reason', 'x');

    let injected = false;
    const proxy = interceptCommands(redis, {
      xrange: async (args, send) => {
        if (args[0] === p0.deadLetter && args[1] === '-' && !injected) {
          injected = true; // a task of partition 1 fails for good while the call runs
          await redis.xadd(p1.deadLetter, '*', 'id', 'late', 'n', 'job', 'p', '3', 'reason', 'x');
        }
        return send();
      },
    });

    const result = await new FleetReads(proxy, () => [p0, p1], 3_600_000).redriveAll({ queue: 'q' });
    const left = (await redis.xrange(p1.deadLetter, '-', '+')).map(([, f]) => f[1]);
    expect({ redriven: result.redriven, left }).toEqual({ redriven: 2, left: ['late'] });
  });
});

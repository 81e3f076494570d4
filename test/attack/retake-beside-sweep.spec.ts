import type { Redis } from 'ioredis';
import { sendEnqueue } from '../../lib/client/enqueue-script';
import { PauseGate } from '../../lib/consumer/pause-gate';
import { QueuePartitions } from '../../lib/partitions/queue-partitions';
import { defineScripts } from '../../lib/redis/scripts';
import { TaskRegistry } from '../../lib/task/task.registry';
import { interceptCommands } from '../fixtures/command-hooks';
import { definitionOf } from '../fixtures/settle-context';
import { Latch, useSpecRedis, waitFor } from '../utils/helpers';
import { lateLease, keyedJob, retakeConsumer, RETAKE_GROUP } from '../fixtures/retake-consumer';

const GROUP = RETAKE_GROUP;
/** XPENDING's extended rows: [entry id, owner, idle ms, deliveries]. */
type PendingRow = [string, string, number, number];

/*
 * Review finding: a keyed run given back unproven (claim.lua code 5) is remembered and taken back
 * at the next confirmed beat (UnprovenRetakes), with no idle filter. The sweep's recovery may
 * take the same entry first (idle past its idle time, the beat late): its reply is admitted only
 * once the rest of the sweep is done (lock, reclaim, stranded cancels), so an entry it took is not
 * yet in flight, and a retake sent meanwhile took it back a second time (XCLAIM: one more
 * delivery). The intake runs it once (the in-flight check), but the second delivery was never
 * given back: one run counted twice towards maxDeliveries, a step closer to being dead-lettered
 * as poison with runs left.
 */
describe('attack: a retake beside a sweep whose recovery took the same entry', () => {
  const { prefix, redis } = useSpecRedis();
  const blocking: Redis[] = [];
  afterAll(() => blocking.forEach((r) => r.disconnect()));
  defineScripts(redis);

  it('one run counts one delivery', async () => {
    const queue = 'rbs';
    const consumer = 'c1';
    const keys = new QueuePartitions(prefix, queue, 1).all[0];
    await redis.xgroup('CREATE', keys.stream, GROUP, '0', 'MKSTREAM');
    await redis.set(keys.alive(consumer), 'lost-then-written-again');
    const { lease, confirm } = lateLease(redis, keys.alive(consumer));

    // The sweep's recovery reply (recover.lua's, once Redis ran it) waits for `release`.
    const swept = new Latch();
    const release = new Latch();
    const retook = new Latch();
    let recovers = 0;
    const commands = interceptCommands(redis, {
      sq_recover: async (_args, send) => {
        const reply = await send();
        if (++recovers === 1 && (reply as unknown[]).length > 0) {
          swept.open();
          await release.wait();
        } else if ((reply as unknown[]).length > 0) retook.open();
        return reply;
      },
    });

    const running = new Latch();
    const finish = new Latch();
    const ran: string[] = [];
    const registry = new TaskRegistry();
    registry.add({
      ...definitionOf('job', { queue }),
      handler: async () => {
        ran.push(consumer);
        running.open();
        await finish.wait();
      },
    });
    const c1 = retakeConsumer({
      redis,
      commands,
      prefix,
      queue,
      consumer,
      lease,
      registry,
      gate: new PauseGate(),
      blocking,
    });

    const call = keyedJob(queue, keys, 'k');
    await sendEnqueue(call, (script) => script.run(redis), 'rbs-task');
    const deliveries = async () => {
      const [row] = (await redis.xpending(keys.stream, GROUP, '-', '+', 1)) as PendingRow[];
      return row?.[3];
    };

    await c1.start();
    try {
      // Read, claimed unproven, given back (remembered for the next confirmed beat).
      await waitFor(async () => (await deliveries()) === 0, { description: 'the delivery given back' });
      // Idle past the recovery's idle time (1 s), the sweep takes it back: its reply is held.
      await swept.wait();
      expect(await deliveries()).toBe(1);

      // The beat is confirmed while the sweep's handover waits to be admitted.
      await confirm();
      await Promise.race([retook.wait(), new Promise((resolve) => setTimeout(resolve, 500))]);
      release.open();
      await running.wait();

      // One run, one delivery counted (the sweep's): not two.
      expect({ ran, deliveries: await deliveries() }).toEqual({ ran: ['c1'], deliveries: 1 });
    } finally {
      release.open();
      finish.open();
      await c1.stop();
    }
    expect(ran).toEqual(['c1']);
  }, 20_000);
});

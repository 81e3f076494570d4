import type { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { EnqueueCall } from '../../lib/client/enqueue-call';
import { sendEnqueue } from '../../lib/client/enqueue-script';
import { InFlight } from '../../lib/consumer/in-flight';
import type { Lease } from '../../lib/consumer/lease';
import { PauseGate } from '../../lib/consumer/pause-gate';
import type { QueueParts } from '../../lib/consumer/queue-context';
import { QueueConsumer } from '../../lib/consumer/queue-consumer';
import { partitionReads } from '../../lib/consumer/slot-group-reads';
import { Slots } from '../../lib/consumer/slots';
import { QueuePartitions } from '../../lib/partitions/queue-partitions';
import { defineScripts } from '../../lib/redis/scripts';
import { resolveConfig } from '../../lib/stream-queue.config';
import { StreamQueueEvents } from '../../lib/stream-queue.events';
import { TaskRegistry } from '../../lib/task/task.registry';
import { interceptCommands } from '../fixtures/command-hooks';
import { RecordingLogger } from '../fixtures/recording-logger';
import { definitionOf } from '../fixtures/settle-context';
import { slotGroupReaders } from '../partitions/slot-group-readers';
import { Latch, useSpecRedis, waitFor } from '../utils/helpers';
import { testConnection } from '../utils/redis';

const GROUP = 'workers';
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

  /** A lease whose liveness value Redis does not hold until confirm(): keyed claims answer unproven. */
  function lateLease(consumerAlive: string) {
    const listeners = new Set<() => void>();
    let known = 'not-yet';
    const lease: Lease = {
      isHeld: () => true,
      heldSince: () => -Infinity,
      livenessSince: () => known,
      onConfirmed: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    const confirm = async () => {
      known = 'v1';
      await redis.set(consumerAlive, known);
      listeners.forEach((l) => l());
    };
    return { lease, confirm };
  }

  it('one run counts one delivery', async () => {
    const queue = 'rbs';
    const consumer = 'c1';
    const keys = new QueuePartitions(prefix, queue, 1).all[0];
    await redis.xgroup('CREATE', keys.stream, GROUP, '0', 'MKSTREAM');
    await redis.set(keys.alive(consumer), 'lost-then-written-again');
    const { lease, confirm } = lateLease(keys.alive(consumer));

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

    const config = resolveConfig({
      connection: testConnection(),
      prefix,
      blockMs: 100,
      sweepIntervalMs: 50,
      shutdownTimeoutMs: 2_000,
    });
    const lanes = [keys].map((k): QueueParts => ({
      queue,
      keys: k,
      group: GROUP,
      consumer,
      redis: commands,
      config,
      events: new StreamQueueEvents(),
      logger: new RecordingLogger() as unknown as Logger,
      inFlight: new InFlight(),
      slots: new Slots(4),
      lease,
    }));
    const partitions = new QueuePartitions(prefix, queue, 1);
    const { groupOf, readerOf } = slotGroupReaders(redis, partitions, {
      group: GROUP,
      consumer,
      blockMs: config.blockMs,
      lease,
      blocking,
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
    const c1 = new QueueConsumer(lanes, partitionReads(lanes, groupOf, readerOf), registry, new PauseGate());

    const call: EnqueueCall = {
      name: 'job',
      queue,
      keys,
      payload: '{}',
      delayMs: 0,
      runAt: 0,
      partitions: 1,
      mode: 'add',
      key: 'k',
      everyMs: 0,
      periodic: false,
    };
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

import type { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { InFlight } from '../../lib/consumer/in-flight';
import { ALWAYS_HELD } from '../../lib/consumer/lease';
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
 * Review finding: a sweep in flight when a consumer stops past its shutdown deadline. The sweep
 * took a dead worker's entry (reclaim.lua: XCLAIM counts a delivery) and its reply came once the
 * pipeline was torn down (a slow Redis, a handler still running past the deadline): the run was
 * let go unstarted, its delivery kept. The next worker then counted one more, and at
 * maxDeliveries 2 dead-lettered as poison a task that had run once, on the worker that died.
 * The other let-go paths give the delivery back (give-back-unstarted.ts, uncount.lua). And a
 * reply that came past the deadline, before the teardown, started its run then: a run the
 * teardown abandoned with its signal never aborted, its liveness key about to go.
 */
describe('attack: stopping past the deadline with a sweep in flight', () => {
  const { prefix, redis } = useSpecRedis();
  const blocking: Redis[] = [];
  afterAll(() => blocking.forEach((r) => r.disconnect()));
  defineScripts(redis);

  /** A consumer of `queue` named `consumer`, its commands on `commands`; `ran` records its runs. */
  function consumerOf(queue: string, consumer: string, commands: Redis, ran: string[], logger = new RecordingLogger()) {
    const partitions = new QueuePartitions(prefix, queue, 1);
    const config = resolveConfig({
      connection: testConnection(),
      prefix,
      blockMs: 100,
      sweepIntervalMs: 50,
      shutdownTimeoutMs: 200,
      maxDeliveries: 2,
    });
    const lanes = partitions.all.map((keys): QueueParts => ({
      queue,
      keys,
      group: GROUP,
      consumer,
      redis: commands,
      config,
      events: new StreamQueueEvents(),
      logger: logger as unknown as Logger,
      inFlight: new InFlight(),
      slots: new Slots(4),
      lease: ALWAYS_HELD,
    }));
    const { groupOf, readerOf } = slotGroupReaders(redis, partitions, {
      group: GROUP,
      consumer,
      blockMs: config.blockMs,
      lease: ALWAYS_HELD,
      blocking,
    });
    const registry = new TaskRegistry();
    registry.add({ ...definitionOf('job'), handler: () => void ran.push(consumer) });
    return new QueueConsumer(lanes, partitionReads(lanes, groupOf, readerOf), registry, new PauseGate());
  }

  /** An entry of queue `queue` read by a worker that died (no liveness key): delivered once. */
  async function abandonedEntry(queue: string) {
    const keys = new QueuePartitions(prefix, queue, 1).all[0];
    await redis.xgroup('CREATE', keys.stream, GROUP, '0', 'MKSTREAM');
    const entry = await redis.xadd(keys.stream, '*', 'id', `${queue}-task`, 'n', 'job', 'p', '1');
    await redis.xreadgroup('GROUP', GROUP, 'dead', 'COUNT', 1, 'STREAMS', keys.stream, '>');
    const deliveries = async () => {
      const [row] = (await redis.xpending(keys.stream, GROUP, entry!, entry!, 1)) as PendingRow[];
      return row?.[3];
    };
    return { keys, deliveries };
  }

  /** Commands of consumer c1 whose sweep's reply (reclaim.lua's) waits for `release` once Redis ran it. */
  function heldSweep() {
    const reclaimed = new Latch();
    const release = new Latch();
    const commands = interceptCommands(redis, {
      sq_reclaim: async (_args, send) => {
        const reply = await send();
        reclaimed.open();
        await release.wait();
        return reply;
      },
    });
    return { commands, reclaimed, release };
  }

  /** Another worker, started once c1 is gone: runs the entry, or dead-letters it as poison. */
  async function nextWorkerRuns(queue: string, keys: { stream: string; deadLetter: string }) {
    const ran: string[] = [];
    const c2 = consumerOf(queue, 'c2', redis, ran);
    await c2.start();
    await waitFor(async () => Number((await redis.xpending(keys.stream, GROUP))[0]) === 0, {
      description: 'the entry settled or dead-lettered by c2',
    });
    await c2.stop();
    return { ran, deadLettered: await redis.xlen(keys.deadLetter) };
  }

  it('its reply comes after the teardown: the delivery is given back, the next worker runs it (maxDeliveries 2)', async () => {
    const { keys, deliveries } = await abandonedEntry('late');
    const { commands, reclaimed, release } = heldSweep();
    const ran: string[] = [];
    const c1 = consumerOf('late', 'c1', commands, ran);
    await c1.start();
    await reclaimed.wait();
    expect(await deliveries()).toBe(2); // c1's claim counted

    await c1.stop();
    release.open(); // the reply reaches c1 once its pipeline is gone
    await waitFor(async () => (await deliveries()) === 1, {
      description: "c1's delivery given back (XPENDING deliveries 1, not 2)",
    });
    expect(ran).toEqual([]);
    expect(await nextWorkerRuns('late', keys)).toEqual({ ran: ['c2'], deadLettered: 0 });
  }, 20_000);

  it('its reply comes past the deadline, before the teardown: the run does not start, its delivery goes back', async () => {
    const { keys, deliveries } = await abandonedEntry('past');
    const { commands, reclaimed, release } = heldSweep();
    const ran: string[] = [];
    const logger = new RecordingLogger();
    const c1 = consumerOf('past', 'c1', commands, ran, logger);
    await c1.start();
    await reclaimed.wait();

    const stopped = c1.stop();
    await waitFor(() => logger.warnings().some((w) => w.includes('outlived the shutdown deadline')), {
      description: 'the shutdown deadline passed',
    });
    release.open();
    await stopped;
    expect({ ran, deliveries: await deliveries() }).toEqual({ ran: [], deliveries: 1 });
    expect(await nextWorkerRuns('past', keys)).toEqual({ ran: ['c2'], deadLettered: 0 });
  }, 20_000);
});

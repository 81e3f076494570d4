import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { QueueClient, StreamQueueModule, Task } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { partitionOfGroup } from '../../lib/partitions/queue-partitions';
import { partitionOfTaskId } from '../../lib/partitions/task-ids';
import { Ledger } from '../recovery/ledger';
import { sleep } from '../utils/helpers';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, testConnection, waitFor } from '../utils/redis';
import { spawnWorker, type WorkerHandle } from '../utils/spawn-worker';

const WORKER_FILE = 'test/recovery/fixtures/ledger-worker.ts';
const LEASE_MS = 1_000;
const SWEEP_MS = 200;
const TASKS = 4;

/**
 * The most runs at once in a ledger log: starts and ends in the order Redis recorded them, and
 * `kill <worker>` lines the spec adds once a worker is dead (its unfinished runs end there).
 */
function mostAtOnce(log: readonly string[]): number {
  const open = new Map<string, number>(); // worker -> runs started and not ended
  let running = 0;
  let most = 0;
  for (const line of log) {
    const [, what, id, worker] = line.split(' ');
    if (what === 'start') {
      open.set(worker, (open.get(worker) ?? 0) + 1);
      running++;
    } else if (what === 'end') {
      open.set(worker, open.get(worker)! - 1);
      running--;
    } else if (what === 'kill') {
      running -= open.get(id) ?? 0; // `kill <worker>`
      open.delete(id);
    }
    most = Math.max(most, running);
  }
  return most;
}

/** A worker process SIGKILLed while it holds the only slot of a flow-limited task (issue 11). */
describe('flow control: a worker holding slots is SIGKILLed', () => {
  const redis = createRedis();
  let prefix: string;
  let ledger: Ledger;
  let workers: WorkerHandle[] = [];
  let producer: INestApplicationContext | undefined;

  beforeEach(() => {
    prefix = randomPrefix();
    ledger = new Ledger(redis, `{${prefix}-ledger}`);
  });

  afterEach(async () => {
    await Promise.all(workers.map((w) => w.kill('SIGKILL')));
    workers = [];
    await producer?.close();
    producer = undefined;
    await ledger.cleanup();
    await cleanupPrefix(redis, prefix);
  });

  afterAll(closeAll);

  /** A producer that has the task's definition (worker: false), so its enqueues carry the limit. */
  async function startProducer(flow: 'global' | 'group', partitions = 1): Promise<QueueClient> {
    @Injectable()
    class Work {
      @Task('work', flow === 'global' ? { globalConcurrency: 1 } : { groupConcurrency: 1 })
      work() {}
    }
    @Module({
      imports: [
        StreamQueueModule.forRoot({
          connection: testConnection(),
          prefix,
          worker: false,
          queues: { default: { partitions } },
        }),
      ],
      providers: [Work],
    })
    class ProducerModule {}
    producer = await NestFactory.createApplicationContext(ProducerModule, { logger: false });
    return producer.get(QueueClient);
  }

  const spawn = (name: string, flow: string, env: Record<string, string> = {}) =>
    spawnWorker(WORKER_FILE, {
      env: {
        SQ_PREFIX: prefix,
        LEDGER: ledger.name,
        WORKER: name,
        LEASE_MS: String(LEASE_MS),
        SWEEP_MS: String(SWEEP_MS),
        FLOW: flow,
        ...env,
      },
      ready: env.HOLD === '1' ? `holding ${name}` : `ready ${name}`,
      readyTimeoutMs: 60_000,
    }).then((w) => (workers.push(w), w));

  // With 2 partitions the group is one routed to partition 1 (slice B of issue 11): its slot,
  // its room and the reclaim of its run are all there, none in partition 0.
  it.each([
    ['global', 1],
    ['group', 1],
    ['group', 2],
  ] as const)(
    '%sConcurrency 1 (%i partitions): the reclaimed run settles before the next starts; nothing lost, the waiting runs follow',
    async (flow, partitions) => {
      const client = await startProducer(flow, partitions);
      const group = ['g', 'h', 'i', 'j'].find((g) => partitionOfGroup(g, partitions) === partitions - 1)!;
      const parts = { PARTITIONS: String(partitions) };
      const [victim, survivor] = await Promise.all([
        spawn('victim', flow, parts),
        spawn('survivor', flow, { HOLD: '1', ...parts }),
      ]);
      // Each run stalls only on the victim: it holds the slot until it dies.
      const payload = { ms: 100, stallOn: 'victim', stallMs: 60_000 };
      const handles = [];
      for (let i = 0; i < TASKS; i++) handles.push(await client.enqueue('work', payload, { group }));
      const ids = handles.map((h) => h.id);
      await waitFor(async () => (await ledger.log()).length === 1, { timeoutMs: 20_000, description: 'one start' });
      survivor.child.kill('SIGUSR2');
      await survivor.waitForLine('ready survivor', { timeoutMs: 30_000 });
      await sleep(3 * SWEEP_MS); // the survivor reads and sweeps: nothing else may start
      expect((await ledger.log()).length).toBe(1);
      expect((await client.counts()).waitingForSlot).toBe(TASKS - 1);

      await victim.kill('SIGKILL');
      await redis.rpush(`${ledger.name}:log`, `${Date.now()} kill victim`);
      await waitFor(() => ledger.allSettled(ids), { timeoutMs: 30_000, description: 'all settled on the survivor' });

      const log = await ledger.log();
      expect(mostAtOnce(log)).toBe(1);
      const starts = await ledger.starts(ids);
      expect([...starts].sort()).toEqual([1, 1, 1, 2]); // the victim's run, again
      // Only the killed run's marker (it outlives its worker) shows an "overlap": that run is dead.
      expect(await ledger.overlaps()).toEqual([ids[starts.indexOf(2)]]);
      expect(
        log
          .filter((l) => l.includes(' start '))
          .slice(1)
          .every((l) => l.endsWith(' survivor')),
      ).toBe(true);
      const keys = new QueueKeys(prefix, 'default', partitionOfGroup(group, partitions));
      expect(ids.every((id) => partitionOfTaskId(id) === keys.partition)).toBe(true);
      await waitFor(async () => (await redis.hlen(keys.flow.tasks)) === 0, {
        description: 'no slot held, none waiting',
      });
      expect(await redis.exists(keys.flow.count, keys.flow.room)).toBe(0);
    },
    120_000,
  );
});

import { randomUUID } from 'node:crypto';
import { Test, type TestingModule } from '@nestjs/testing';
import { QueueClient, StreamQueueEvents, StreamQueueModule, type StreamQueueModuleOptions } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { closeModule } from '../fixtures/close-module';
import { ManyQueuesModule, queueName, taskName } from '../fixtures/many-queues.module';
import { Probe } from '../fixtures/probe';
import { Latch, sleep } from '../utils/helpers';
import { RecordingLogger } from '../fixtures/recording-logger';
import { logger, testOptions } from '../fixtures/test-app';
import {
  cleanupPrefix,
  closeAll,
  createRedis,
  randomPrefix,
  serverNodes,
  testConnection,
  waitFor,
} from '../utils/redis';
import { testTopology } from '../utils/test-topology';

const QUEUES = 50;
const MASTERS = 3;
const REPLICAS = 3;
/**
 * One node: commands, one blocking read, the control subscriber, the heartbeat thread's connection.
 * A cluster: a blocking read per slot read (each queue is a slot of its own); then each of the
 * three cluster clients (commands, control subscriber, heartbeat thread) holds a connection per
 * node it uses, masters for commands and, as ioredis does, a READONLY one to every replica.
 */
const CONNECTIONS_PER_WORKER = testTopology() === 'cluster' ? QUEUES + MASTERS * 2 + 1 + REPLICAS * 3 : 4;
/**
 * Whether the worker's cluster clients hold their READONLY replica connections is ioredis's
 * business and varies from run to run (all 9 in a full cluster suite, none for a spec run alone
 * on a cluster just made, both on the same code): the count must lie between none and all of
 * them (a producer's likewise). A connection per queue (or none per slot read) still falls
 * outside.
 */
const FEWEST_PER_WORKER = testTopology() === 'cluster' ? CONNECTIONS_PER_WORKER - REPLICAS * 3 : 4;
/** A producer: its commands connection (on a cluster, one per master and one per replica). */
const CONNECTIONS_PER_PRODUCER = testTopology() === 'cluster' ? MASTERS + REPLICAS : 1;
/** Long blocking reads: a queue that waited for a read to time out would show as a wait this long. */
const BLOCK_MS = 3_000;

// One worker process consuming many queues: one blocking connection reads them all.
describe('a worker consuming many queues', () => {
  const redis = createRedis();
  const open: TestingModule[] = [];
  const prefixes: string[] = [];
  // A prefix per test: tasks a test leaves queued on purpose never reach the next one.
  let prefix: string;
  beforeEach(() => void prefixes.push((prefix = randomPrefix())));

  async function boot(probe: Probe, options: Partial<StreamQueueModuleOptions> = {}, logs = logger) {
    const moduleRef = await Test.createTestingModule({
      imports: [
        StreamQueueModule.forRoot(testOptions(prefix, { blockMs: BLOCK_MS, ...options })),
        ManyQueuesModule.register(QUEUES, probe),
      ],
    })
      .setLogger(logs)
      .compile();
    open.push(moduleRef);
    await moduleRef.init();
    return { moduleRef, client: moduleRef.get(QueueClient), events: moduleRef.get(StreamQueueEvents) };
  }

  /** The server's connections named `name`: every connection of one app (ioredis names each). */
  async function connectionsNamed(name: string): Promise<number> {
    let count = 0;
    for (const node of serverNodes(redis)) {
      const list = (await node.client('LIST')) as string;
      count += list.split('\n').filter((line) => line.includes(` name=${name} `)).length;
    }
    return count;
  }

  const started = (probe: Probe, i: number) => probe.runsOf(taskName(i)).length;

  afterEach(async () => {
    await Promise.all(open.splice(0).map((m) => closeModule(m)));
  });
  afterAll(async () => {
    for (const p of prefixes) await cleanupPrefix(redis, p);
    await closeAll();
  });

  it(`holds ${CONNECTIONS_PER_WORKER} connections for ${QUEUES} queues, however many it reads`, async () => {
    const connectionName = `sq-test-${randomUUID().slice(0, 8)}`;
    const probe = new Probe();
    const { client } = await boot(probe, { connection: testConnection({ connectionName }) });
    await Promise.all(Array.from({ length: QUEUES }, (_, i) => client.enqueue(taskName(i), i)));
    await waitFor(() => probe.runs.length === QUEUES, { description: 'a run on every queue' });

    const held = await connectionsNamed(connectionName);
    expect(held).toBeGreaterThanOrEqual(FEWEST_PER_WORKER);
    expect(held).toBeLessThanOrEqual(CONNECTIONS_PER_WORKER);

    const producerName = `${connectionName}-producer`;
    const producer = await boot(new Probe(), {
      worker: false,
      connection: testConnection({ connectionName: producerName }),
    });
    await producer.client.enqueue(taskName(0), 'from a producer'); // connected, whatever ioredis defers
    const producerHeld = await connectionsNamed(producerName);
    expect(producerHeld).toBeGreaterThanOrEqual(
      CONNECTIONS_PER_PRODUCER - (testTopology() === 'cluster' ? REPLICAS : 0),
    );
    expect(producerHeld).toBeLessThanOrEqual(CONNECTIONS_PER_PRODUCER);
  });

  it('still reads every queue, with one warning, under an ACL that refuses CLIENT ID and UNBLOCK', async () => {
    const user = `no-unblock-${randomUUID().slice(0, 8)}`;
    const acl = (...args: string[]) => Promise.all(serverNodes(redis).map((node) => node.call('ACL', ...args)));
    await acl('SETUSER', user, 'on', '>secret', '~*', '&*', '+@all', '-client|id', '-client|unblock');
    try {
      const probe = new Probe();
      const logs = new RecordingLogger();
      const connection = testConnection({ username: user, password: 'secret' });
      const { client } = await boot(probe, { blockMs: 200, connection }, logs);
      await Promise.all(Array.from({ length: QUEUES }, (_, i) => client.enqueue(taskName(i), i)));
      await waitFor(() => probe.runs.length === QUEUES, { description: 'a run on every queue' });
      const warnings = logs.warnings().filter((w) => w.includes('CLIENT ID or CLIENT UNBLOCK'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/NOPERM/);
    } finally {
      await Promise.all(open.splice(0).map((m) => closeModule(m)));
      await acl('DELUSER', user);
    }
  });

  it(`runs ${QUEUES} queues x 20 tasks of mixed durations, each exactly once`, async () => {
    const probe = new Probe();
    for (let i = 0; i < QUEUES; i++) probe.on(taskName(i), (n) => sleep((Number(n) + i) % 4));
    const { client } = await boot(probe, { concurrency: 3, blockMs: 100 });
    await Promise.all(
      Array.from({ length: QUEUES }, (_, i) =>
        client.enqueueMany(Array.from({ length: 20 }, (_, n) => ({ name: taskName(i), payload: n }))),
      ),
    );
    await waitFor(() => probe.runs.length >= QUEUES * 20, { timeoutMs: 30_000, description: 'every run' });

    const counts = probe.countsById();
    expect(counts.size).toBe(QUEUES * 20);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    for (let i = 0; i < QUEUES; i++) expect(started(probe, i)).toBe(20);
  });

  it('starts the backlog of a queue whose slots free up while the shared read blocks on idle queues', async () => {
    const probe = new Probe();
    const gate = new Latch();
    const startedAt: number[] = [];
    probe.on(taskName(0), async (n) => {
      startedAt[Number(n)] = performance.now();
      if (n === 0) await gate.wait();
    });
    const { client } = await boot(probe, { concurrency: 1 });
    await client.enqueue(taskName(0), 0);
    await waitFor(() => started(probe, 0) === 1, { description: 'the first run, holding the only slot' });
    await client.enqueue(taskName(0), 1);
    // The shared read, sent without the full queue, now blocks on the 49 idle ones.
    await sleep(200);

    const releasedAt = performance.now();
    gate.open();
    await waitFor(() => started(probe, 0) === 2, { description: 'the queued run' });
    const latency = startedAt[1] - releasedAt;
    process.stdout.write(`backlog start after a slot freed: ${latency.toFixed(1)} ms (blockMs ${BLOCK_MS})\n`);
    expect(latency).toBeLessThan(BLOCK_MS / 4);

    // The queue, idle again, takes part in the blocking read: a new task starts at once.
    await sleep(200);
    const enqueuedAt = performance.now();
    await client.enqueue(taskName(0), 2);
    await waitFor(() => started(probe, 0) === 3, { description: 'the new run' });
    expect(startedAt[2] - enqueuedAt).toBeLessThan(BLOCK_MS / 4);
  });

  it("starts an idle queue's task promptly while a busy queue's slots are full", async () => {
    const probe = new Probe();
    const gate = new Latch();
    let idleStartedAt = 0;
    probe.on(taskName(0), () => gate.wait());
    probe.on(taskName(1), () => void (idleStartedAt = performance.now()));
    const { client } = await boot(probe, { concurrency: 2 });
    await client.enqueueMany(Array.from({ length: 10 }, (_, n) => ({ name: taskName(0), payload: n })));
    await waitFor(() => started(probe, 0) === 2, { description: 'the busy queue full' });
    await sleep(200);

    const enqueuedAt = performance.now();
    await client.enqueue(taskName(1), 'idle');
    await waitFor(() => idleStartedAt > 0, { description: "the idle queue's run" });
    const latency = idleStartedAt - enqueuedAt;
    process.stdout.write(`idle queue start beside a full one: ${latency.toFixed(1)} ms (blockMs ${BLOCK_MS})\n`);
    expect(latency).toBeLessThan(BLOCK_MS / 4);
    gate.open();
    await waitFor(() => started(probe, 0) === 10, { description: 'the busy backlog' });
  });

  it('drains on close: in-flight runs finish, unread tasks stay queued, without waiting out blockMs', async () => {
    const probe = new Probe();
    const gate = new Latch();
    for (let i = 0; i < 3; i++) probe.on(taskName(i), () => gate.wait());
    const { moduleRef, client, events } = await boot(probe, { concurrency: 1 });
    for (let i = 0; i < 3; i++) await client.enqueueMany([0, 1].map((n) => ({ name: taskName(i), payload: n })));
    await waitFor(() => probe.runs.length === 3, { description: 'one run per busy queue' });

    const closedAt = performance.now();
    const closing = closeModule(moduleRef);
    await sleep(50);
    gate.open();
    await closing;
    const closeMs = performance.now() - closedAt;
    process.stdout.write(`close with ${QUEUES} queues reading: ${closeMs.toFixed(0)} ms (blockMs ${BLOCK_MS})\n`);

    expect(events.counters().completed).toBe(3);
    expect(probe.runs).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      const keys = new QueueKeys(prefix, queueName(i));
      // Settled entries are deleted: what is left is the second task, never read (none pending).
      expect(await redis.xlen(keys.stream)).toBe(1);
      expect(((await redis.xpending(keys.stream, 'workers')) as unknown[])[0]).toBe(0);
    }
    expect(closeMs).toBeLessThan(BLOCK_MS);
  });

  it('recreates the group of one queue whose stream vanished, and keeps reading the others', async () => {
    const probe = new Probe();
    const logs = new RecordingLogger();
    const { client } = await boot(probe, { blockMs: 100 }, logs);
    await client.enqueue(taskName(0), 'before');
    await waitFor(() => started(probe, 0) === 1, { description: 'a first run' });
    await redis.del(new QueueKeys(prefix, queueName(1)).stream); // takes the group with it

    await client.enqueue(taskName(0), 'beside');
    await waitFor(() => started(probe, 0) === 2, { description: 'the other queue still read' });
    await waitFor(
      async () =>
        ((await redis.xinfo('GROUPS', new QueueKeys(prefix, queueName(1)).stream).catch(() => [])) as unknown[])
          .length === 1,
      {
        description: 'the group recreated',
      },
    );
    await client.enqueue(taskName(1), 'after');
    await waitFor(() => started(probe, 1) === 1, { description: 'the queue read again' });
    // Only the queue that lost its group saw its read fail.
    const readFailures = logs.warnings().filter((w) => w.includes('read failed'));
    expect(readFailures.length).toBeGreaterThan(0);
    expect(readFailures.filter((w) => !w.startsWith(`Queue "${queueName(1)}"`))).toEqual([]);
  });
});

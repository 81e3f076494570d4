import { QueueClient } from '../../lib';
import { ConsumerHost } from '../../lib/consumer/consumer.host';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { QueueKeys } from '../../lib/redis/keys';
import { buildApp, closeHostileApps } from '../fixtures/hostile-tasks';
import { testOptions } from '../fixtures/test-app';
import { Latch } from '../utils/helpers';
import { usePrivateRedisApps } from '../fixtures/private-redis-apps';
import { waitFor } from '../utils/redis';

/*
 * A worker whose command connection ends for good (a retryStrategy that gives up) gives its lease
 * up at once (connection-ended-for-good.spec): its liveness keys are deleted, so other workers
 * take its runs over. Its blocking read, on a connection of its own, was still in flight (the
 * interrupt goes over the ended command connection, so it stays blocked). What that read got
 * afterwards was started all the same: the lease keeper, stopped, still said the lease was held
 * (its last confirmed beat was recent), so the run started in a worker that had given its lease
 * up, while another worker reclaimed and ran the same task: two runs at once.
 */
describe('attack: a read answered after the command connection ended for good', () => {
  const env = usePrivateRedisApps();
  afterEach(closeHostileApps);

  it('starts nothing it read once it gave its lease up; another worker runs it, once', async () => {
    const { server, admin, prefix } = env;
    const keys = new QueueKeys(prefix, 'default');
    const lease = { leaseMs: 3_000, heartbeatIntervalMs: 500, sweepIntervalMs: 100 };
    const gate = new Latch();
    const first = await buildApp(
      testOptions(prefix, {
        // A long blocking read, so the one in flight when the connection ends is still blocked.
        connection: { url: server.url, options: { retryStrategy: () => null } },
        blockMs: 20_000,
        shutdownTimeoutMs: 1_000,
        ...lease,
      }),
    );
    first.probe.on('echo', async () => {
      await gate.wait();
      return 'done';
    });
    await first.init();
    const consumer = first.moduleRef.get(ConsumerHost).consumerName;
    const commands = first.moduleRef.get(RedisConnections).commands;
    await waitFor(
      async () => ((await admin.client('LIST')) as string).split('\n').some((line) => / cmd=xreadgroup /.test(line)),
      { description: 'the first worker blocked in its read' },
    );

    const id = await commands.client('ID');
    await admin.client('KILL', 'ID', String(id));
    await waitFor(() => commands.status === 'end', { description: 'the command connection ended for good' });
    await waitFor(async () => (await admin.exists(keys.alive(consumer))) === 0, {
      description: "the first worker's liveness key deleted (its lease given up)",
    });

    // The task reaches the first worker's read, still blocked.
    const producer = await buildApp(testOptions(prefix, { connection: { url: server.url }, worker: false }));
    await producer.init();
    const handle = await producer.moduleRef.get(QueueClient).enqueue('echo', 'once');
    await waitFor(
      async () => {
        const rows = (await admin.xpending(keys.stream, CONSUMER_GROUP, '-', '+', 10)) as [string, string][];
        return rows.length === 1 && rows[0][1] === consumer;
      },
      { description: 'the entry read by the first worker' },
    );

    const second = await buildApp(testOptions(prefix, { connection: { url: server.url }, ...lease }));
    second.probe.on('echo', () => 'done');
    await second.init();
    await waitFor(async () => (await admin.exists(keys.result(handle.id))) === 1, {
      timeoutMs: 10_000,
      description: 'the run taken over and completed by the second worker',
    });
    expect(second.probe.runs.map((r) => r.ctx.id)).toEqual([handle.id]);
    // The first worker had given its lease up before it read the task: it never started it.
    expect(first.probe.runs.map((r) => r.ctx.id)).toEqual([]);
    gate.open();
  }, 40_000);
});

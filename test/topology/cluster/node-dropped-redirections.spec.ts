import { randomUUID } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { RedisUnreachableError } from '../../../lib/errors';
import { execReplies } from '../../../lib/redis/pipeline-replies';
import { RedisConnections } from '../../../lib/redis/redis-connections';
import { closeApps, startApp, type TestApp } from '../../fixtures/test-app';
import { randomPrefix, waitFor } from '../../utils/redis';
import { startRedisCluster, type RedisClusterHandle } from '../../utils/redis-cluster';
import type { RedisServerHandle } from '../../../lib/testing/redis-server';
import { writtenTo } from '../../utils/written-commands';

/** What `call` settled with: its error, or its value. */
const outcome = (call: Promise<unknown>) =>
  call.then(
    (value) => value,
    (error: unknown) => error,
  );

/*
 * Review finding: on a cluster, a call routed to a node whose connection dropped (the node killed,
 * the rest of the cluster up, so the Cluster stays ready and offlineTimeoutMs does not apply) is
 * tried again by ioredis up to maxRedirections (16) times and then rejected with its untyped
 * `Error: Too many Cluster redirections. Last error: ...`, whether or not it was written; and a
 * pipeline cut partway kept ioredis's bare per-command error. Both are now a RedisUnreachableError,
 * `mayHaveRun` saying whether a node connection wrote the command, ioredis's error its cause.
 * Each node of the slot is killed, so the call cannot succeed; no replicas, so no failover.
 */
describe('a node of the cluster dropped under a call', () => {
  let cluster: RedisClusterHandle;
  let producer: TestApp;
  let commands: Cluster;
  let killed: RedisServerHandle | undefined;
  beforeAll(async () => (cluster = await startRedisCluster({ masters: 3, replicas: 0 })), 120_000);
  beforeEach(async () => {
    producer = await startApp({
      prefix: randomPrefix(),
      options: { worker: false, connection: { cluster: { nodes: cluster.nodes } } },
    });
    commands = producer.app.get(RedisConnections).commands as unknown as Cluster;
  });
  afterEach(async () => {
    await closeApps();
    if (killed) await killed.restart();
    killed = undefined;
    await cluster.waitHealthy();
  }, 60_000);
  afterAll(async () => cluster.stop());

  it('written, then its node killed: a RedisUnreachableError that may have run, ioredis’s error the cause', async () => {
    killed = await cluster.masterOf(producer.keys.stream);
    await killed.kill('SIGSTOP'); // frozen: the enqueue is written and never answered
    const marker = `written-${randomUUID()}`;
    const enqueued = outcome(producer.client.enqueue('echo', marker));
    await waitFor(() => writtenTo(commands, marker), { timeoutMs: 5_000, intervalMs: 1 });
    await killed.kill('SIGKILL');

    const error = await enqueued;

    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect((error as RedisUnreachableError).mayHaveRun).toBe(true);
    expect(String((error as Error).cause)).toMatch(/Too many Cluster redirections/);
  }, 60_000);

  it('its node killed first: a RedisUnreachableError saying it was never sent', async () => {
    killed = await cluster.masterOf(producer.keys.stream);
    await killed.kill('SIGKILL');
    await waitFor(() => commands.nodes('all').length < 3, { timeoutMs: 10_000, intervalMs: 5 });

    const error = await outcome(producer.client.enqueue('echo', 'never-sent'));

    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect((error as RedisUnreachableError).mayHaveRun).toBe(false);
    expect(String((error as Error).cause)).toMatch(/Too many Cluster redirections/);
  }, 60_000);

  it('a pipeline cut after its first reply: the unanswered command is a RedisUnreachableError that may have run', async () => {
    const tag = `{${randomUUID()}}`;
    killed = await cluster.masterOf(tag);
    // The BLPOP waits for ever: answered the SET, the pipeline waits on it when the node goes.
    const pipeline = commands.pipeline().set(`${tag}:a`, '1').blpop(`${tag}:list`, 0);
    const replies = execReplies(pipeline, 2);
    const pending = pipeline as unknown as { replyPending: number };
    await waitFor(() => pending.replyPending === 1, { timeoutMs: 5_000, intervalMs: 1 });
    await killed.kill('SIGKILL');

    const [first, second] = await replies;

    expect(first).toEqual([null, 'OK']);
    expect(second[0]).toBeInstanceOf(RedisUnreachableError);
    expect((second[0] as RedisUnreachableError).mayHaveRun).toBe(true);
    expect((second[0] as Error).cause).toBeInstanceOf(Error);
  }, 60_000);
});

import type { Cluster } from 'ioredis';
import { RedisUnreachableError } from '../../../lib/errors';
import { RedisConnections } from '../../../lib/redis/redis-connections';
import { closeApps, startApp, type TestApp } from '../../fixtures/test-app';
import { randomPrefix, waitFor } from '../../utils/redis';
import { startRedisCluster, type RedisClusterHandle } from '../../utils/redis-cluster';
import type { RedisServerHandle } from '../../../lib/testing/redis-server';
import { nodeHolding } from '../../utils/written-commands';

/** Whether a node connection of `cluster` holds, written and unanswered, an EXEC. */
const execWritten = (cluster: Cluster) => nodeHolding(cluster, (command) => command.name === 'exec') !== undefined;

/** Runs `act` (synchronous) as `cluster`'s next multi() is called, before it sends anything. */
function atMulti(cluster: Cluster, act: () => void): void {
  const multi = cluster.multi;
  cluster.multi = function (this: Cluster, ...args: unknown[]) {
    cluster.multi = multi;
    act();
    return (multi as (...a: unknown[]) => ReturnType<Cluster['multi']>).apply(this, args);
  } as Cluster['multi'];
}

/** What `call` settled with: its error, or its value. */
const outcome = (call: Promise<unknown>) =>
  call.then(
    (value) => value,
    (error: unknown) => error,
  );

/*
 * Attack finding: a module transaction on a cluster (deadLetterBound(): MULTI, XLEN, XREVRANGE,
 * EXEC) whose node connection dropped rejected with ioredis's bare `Connection is closed.`, where
 * a single command or a pipeline of the module given up the same way is a RedisUnreachableError:
 * ioredis's Cluster.multi() builds its pipeline itself, not through pipeline(), so the typing of
 * pipelines never saw it. The slot's only node is killed, so the call cannot succeed.
 */
describe('a node of the cluster dropped under a module transaction', () => {
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
    await producer.client.deadLetterBound(); // anything it reads before its MULTI, read now
  });
  afterEach(async () => {
    await closeApps();
    if (killed) await killed.restart();
    killed = undefined;
    await cluster.waitHealthy();
  }, 60_000);
  afterAll(async () => cluster.stop());

  it('its EXEC written, then its node killed: a RedisUnreachableError that may have run', async () => {
    killed = await cluster.masterOf(producer.keys.deadLetter);
    // Frozen as the module starts its MULTI (its read of the layout answered): the EXEC is
    // written and never answered.
    const server = killed;
    atMulti(commands, () => process.kill(server.pid!, 'SIGSTOP'));
    const bound = outcome(producer.client.deadLetterBound());
    await waitFor(() => execWritten(commands), { timeoutMs: 5_000, intervalMs: 1 });
    await killed.kill('SIGKILL');

    const error = await bound;

    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect((error as RedisUnreachableError).mayHaveRun).toBe(true);
    expect(String((error as Error).cause)).toMatch(/Connection is closed/);
  }, 60_000);

  it('its node killed as the MULTI is made: a RedisUnreachableError saying it was never sent', async () => {
    const server = (killed = await cluster.masterOf(producer.keys.deadLetter));
    const node = commands.nodes('master').find((n) => n.options.port === server.port)!;
    // Killed, its connection cut at once (as the kill will): nothing of the transaction is written.
    atMulti(commands, () => {
      process.kill(server.pid!, 'SIGKILL');
      node.stream.destroy();
    });

    const error = await outcome(producer.client.deadLetterBound());

    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect((error as RedisUnreachableError).mayHaveRun).toBe(false);
    expect(String((error as Error).cause)).toMatch(/Connection is closed/);
  }, 60_000);
});

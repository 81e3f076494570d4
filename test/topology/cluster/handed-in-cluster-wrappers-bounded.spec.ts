import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { RedisUnreachableError } from '../../../lib/errors';
import { typeClusterGiveUps } from '../../../lib/redis/cluster-given-up';
import { watchNodeWrites } from '../../../lib/redis/cluster-node-writes';
import { moduleClient } from '../../../lib/redis/module-client';
import { closeApps, startApp } from '../../fixtures/test-app';
import { outcomeWithin } from '../../utils/outcome-within';
import { randomPrefix, waitFor } from '../../utils/redis';
import { clusterClient, startRedisCluster, type RedisClusterHandle } from '../../utils/redis-cluster';
import type { RedisServerHandle } from '../../../lib/testing/redis-server';
import { writtenTo } from '../../utils/written-commands';

/** Apps booted and closed in turns: past the depth at which a chain of wrappers overflowed the stack. */
const TURNS = 20_000;

/** The methods the module wraps that the Cluster, and its node connections, hold as their own. */
const ownWrapped = (client: Cluster) => ({
  cluster: ['sendCommand', 'pipeline', 'multi'].map((name) => Object.getOwnPropertyDescriptor(client, name)),
  nodes: client.nodes('all').filter((node) => Object.prototype.hasOwnProperty.call(node, 'flushQueue')).length,
});

/*
 * The Cluster side of handed-in-client-wrappers-bounded.spec.ts: to type a Cluster's give-ups,
 * each app wrapped the Cluster's sendCommand, pipeline and multi, and flushQueue of each of its node
 * connections. An app closed while another's wrapper lay over its own left its own in place, and
 * a node connection's wrapper was never taken off, so a long-lived Cluster shared by apps booted
 * and closed in turns gained wrappers without bound, until every command on it, the
 * application's own too, overflowed the stack. And the close put the Cluster's prototype methods
 * back as its own properties. Each is now wrapped once, each app a layer of it, and the last
 * app's close gives the Cluster and its nodes their methods back.
 */
describe('apps sharing one handed-in Cluster, booted and closed in turns', () => {
  let cluster: RedisClusterHandle;
  let client: Cluster;
  let killed: RedisServerHandle | undefined;
  beforeAll(async () => (cluster = await startRedisCluster({ masters: 3, replicas: 0 })), 120_000);
  beforeEach(async () => {
    client = clusterClient(cluster.nodes);
    await client.ping();
  });
  afterEach(async () => {
    await closeApps();
    client.disconnect();
    if (killed) await killed.restart();
    killed = undefined;
    await cluster.waitHealthy();
  }, 60_000);
  afterAll(async () => cluster.stop());

  /** Freezes the master of `tag`'s slot, and has `send` write a command to it (its call, in an object: not awaited). */
  const writtenToFrozen = async (tag: string, send: (marker: string) => Promise<unknown>) => {
    // Each master's connection ready first: one still connecting when its node froze (the first
    // case's 20,000 boots block the event loop right after the client's first PING) held the call
    // in its offline queue behind its ready check, never written (seen once in CI).
    await Promise.all(client.nodes('master').map((node) => node.ping()));
    killed = await cluster.masterOf(tag);
    await killed.kill('SIGSTOP');
    const marker = `${tag}-written-${randomUUID()}`;
    const sent = send(marker);
    sent.catch(() => undefined); // judged by the caller
    await waitFor(() => writtenTo(client, marker), { timeoutMs: 5_000, intervalMs: 1 });
    return { sent };
  };

  it(`types a give-up and carries the application's own commands after ${TURNS} apps, then gives the methods back`, async () => {
    const before = ownWrapped(client);
    const boot = () => {
      const view = moduleClient(client);
      const writes = watchNodeWrites(client as unknown as Redis);
      const untype = typeClusterGiveUps(
        client as unknown as Redis,
        () => 'cluster',
        view.isModuleCommand,
        writes.wasWritten,
      );
      return { view, close: () => (writes.stop(), untype()) };
    };
    let open = boot();
    for (let turn = 0; turn < TURNS; turn++) {
      // The next app boots before the open one closes.
      const next = boot();
      open.close();
      open = next;
    }
    const key = `{${randomUUID()}}:own`;
    await expect(client.set(key, 'v')).resolves.toBe('OK');

    const tag = `{${randomUUID()}}`;
    const { sent: modules } = await writtenToFrozen(tag, (marker) =>
      (open.view.client as Cluster).get(`${tag}:${marker}`),
    );
    const own = client.get(`${tag}:own`);
    await killed!.kill('SIGKILL');
    const [moduleOutcome, ownOutcome] = await Promise.all([outcomeWithin(modules, 30_000), outcomeWithin(own, 30_000)]);

    expect(moduleOutcome).toBeInstanceOf(RedisUnreachableError);
    expect((moduleOutcome as RedisUnreachableError).mayHaveRun).toBe(true);
    // The application's own call is rejected with ioredis's own error.
    expect(ownOutcome).toBeInstanceOf(Error);
    expect(ownOutcome).not.toBeInstanceOf(RedisUnreachableError);
    open.close();
    expect(ownWrapped(client)).toEqual(before);
  }, 120_000);

  it('two apps closed in the order opposite to their boots: the second still types its give-ups, and the Cluster is left as found', async () => {
    const before = ownWrapped(client);
    const prefix = randomPrefix();
    const first = await startApp({ prefix, options: { worker: false, connection: client } });
    const second = await startApp({ prefix, options: { worker: false, connection: client } });
    await first.close();

    const { sent: enqueued } = await writtenToFrozen(second.keys.stream, (marker) =>
      second.client.enqueue('echo', marker),
    );
    await killed!.kill('SIGKILL');
    const outcome = await outcomeWithin(enqueued, 30_000);

    expect(outcome).toBeInstanceOf(RedisUnreachableError);
    expect((outcome as RedisUnreachableError).mayHaveRun).toBe(true);
    await killed!.restart();
    killed = undefined;
    await cluster.waitHealthy();
    await second.close();
    expect(ownWrapped(client)).toEqual(before);
  }, 120_000);
});

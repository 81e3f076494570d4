import type { Cluster } from 'ioredis';
import { EXIT } from '../../../lib/cli/cli-commands';
import { QueueKeys } from '../../../lib/redis/keys';
import { spawnCli } from '../../utils/cli-bin';
import { clusterClient, startRedisCluster, type RedisClusterHandle } from '../../utils/redis-cluster';
import { randomPrefix } from '../../utils/redis';

const QUEUES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

/**
 * Review finding: the CLI spoke to the one node its --url names, as to a lone Redis. On a
 * cluster, `inspect` scanned that node alone and printed the queues whose slots it serves, exit
 * 0, as if they were all; every command on a queue of another node's slot failed with
 * Redis's raw 'MOVED <slot> <host:port>' (a partitioned queue, whose partitions live on several
 * masters, could not be read or repaired at all). The README says the CLI works unchanged on a
 * partitioned queue, which is meant for a cluster.
 */
describe('the CLI against a Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let redis: Cluster;
  const prefix = randomPrefix();
  let url: string;

  beforeAll(async () => {
    cluster = await startRedisCluster({ replicas: 0 });
    redis = clusterClient(cluster.nodes);
    url = `redis://${cluster.nodes[0].host}:${cluster.nodes[0].port}`;
    for (const queue of QUEUES) {
      const keys = new QueueKeys(prefix, queue);
      await redis.xadd(keys.deadLetter, '*', 'id', `t-${queue}`, 'n', 'echo', 'p', '1', 'a', '3', 'reason', 'r');
    }
  }, 60_000);
  afterAll(async () => {
    redis?.disconnect();
    await cluster?.stop();
  });

  it('the queues live on more than one master (else this spec proves nothing)', async () => {
    const masters = await Promise.all(QUEUES.map((q) => cluster.masterOf(new QueueKeys(prefix, q).deadLetter)));
    expect(new Set(masters.map((m) => m.port)).size).toBeGreaterThan(1);
  });

  it('inspect finds every queue, on every master', async () => {
    const result = await spawnCli('inspect', '--url', url, '--prefix', prefix, '--json');
    expect(result).toMatchObject({ code: EXIT.ok, err: '' });
    const states = JSON.parse(result.out) as { queue: string; deadLettered: number }[];
    expect(states.map((s) => [s.queue, s.deadLettered])).toEqual(QUEUES.map((q) => [q, 1]));
  });

  it('lists and redrives the dead letters of a queue whatever master holds it', async () => {
    // One queue per master.
    const byMaster = new Map<number, string>();
    for (const queue of QUEUES) {
      const { port } = await cluster.masterOf(new QueueKeys(prefix, queue).deadLetter);
      if (!byMaster.has(port)) byMaster.set(port, queue);
    }
    for (const queue of byMaster.values()) {
      const listed = await spawnCli('dlq', 'list', '--url', url, '--prefix', prefix, '--queue', queue, '--json');
      expect(listed).toMatchObject({ code: EXIT.ok, err: '' });
      const [dead] = (JSON.parse(listed.out) as { tasks: { deadLetterId: string; id: string }[] }).tasks;
      expect(dead.id).toBe(`t-${queue}`);
      const redriven = await spawnCli(
        'dlq',
        'redrive',
        dead.deadLetterId,
        '--url',
        url,
        '--prefix',
        prefix,
        '--queue',
        queue,
        '--yes',
      );
      expect(redriven).toMatchObject({ code: EXIT.ok, err: '' });
      expect(await redis.xlen(new QueueKeys(prefix, queue).stream)).toBe(1);
    }
  }, 60_000);

  it('lists the dead letters of every partition of a partitioned queue, over the masters', async () => {
    const count = 4;
    await redis.set(new QueueKeys(prefix, 'parts').layout, String(count));
    for (let p = 0; p < count; p++)
      await redis.xadd(
        new QueueKeys(prefix, 'parts', p).deadLetter,
        '*',
        'id',
        `t${p}`,
        'n',
        'echo',
        'p',
        '1',
        'reason',
        'r',
      );
    const listed = await spawnCli('dlq', 'list', '--url', url, '--prefix', prefix, '--queue', 'parts', '--json');
    expect(listed).toMatchObject({ code: EXIT.ok, err: '' });
    const { tasks } = JSON.parse(listed.out) as { tasks: { id: string; partition: number }[] };
    expect(tasks.map((t) => [t.partition, t.id])).toEqual([0, 1, 2, 3].map((p) => [p, `t${p}`]));
  });
});

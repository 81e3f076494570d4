import { TerminusModule } from '@nestjs/terminus';
import Redis from 'ioredis';
import { StreamQueueHealthIndicator, StreamQueueHealthModule } from '../../../lib/terminus';
import { closeApps, startApp } from '../../fixtures/test-app';
import { startRedisCluster, type RedisClusterHandle } from '../../utils/redis-cluster';
import { randomPrefix } from '../../utils/redis';

const CHECKS = 5;

/*
 * The health check reads each partition's flow:refused record with a GET written straight to the
 * master its slot map names (lib/terminus/refused-admissions.ts), past the Cluster client's
 * redirections. While the queue's slot migrated (a reshard: MIGRATING on its master), that master
 * answered a GET of a key it does not hold, the record almost always, with an ASK redirection,
 * and the check said Redis down ("ASK <slot> ...") on every worker of the queue for the whole
 * migration, though the queue's keys, still there, were read and written as usual; so did a GET
 * a moment after the slot moved (MOVED), before the slot map was refreshed. A redirection now
 * reads as no streak in that check (the PING judges the node). A review finding; the spec failed.
 */
describe('health on a Redis Cluster: the refused-admissions record while its slot migrates', () => {
  let cluster: RedisClusterHandle;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicas: 0 });
  }, 60_000);
  afterEach(closeApps);
  afterAll(() => cluster?.stop());

  const node = (port: number) => new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0 });

  it('stays up while the slot migrates and once it moved', async () => {
    const t = await startApp({
      prefix: randomPrefix(),
      options: { connection: { cluster: { nodes: cluster.nodes } }, leaseMs: 60_000 },
      imports: [StreamQueueHealthModule, TerminusModule],
    });
    const indicator = t.app.get(StreamQueueHealthIndicator);
    expect((await indicator.isHealthy('queue')).queue.status).toBe('up');

    const from = await cluster.masterOf(t.keys.stream);
    const to = (await cluster.masters()).find((m) => m.port !== from.port)!;
    const source = node(from.port);
    const target = node(to.port);
    try {
      const slot = Number(await source.cluster('KEYSLOT', t.keys.flow.refused));
      const [fromId, toId] = [String(await source.cluster('MYID')), String(await target.cluster('MYID'))];
      await target.cluster('SETSLOT', slot, 'IMPORTING', fromId);
      await source.cluster('SETSLOT', slot, 'MIGRATING', toId);
      const checks = async () => {
        const said: string[] = [];
        for (let i = 0; i < CHECKS; i++) {
          const { queue } = await indicator.isHealthy('queue');
          said.push(`${queue.status} ${String(queue.message ?? '')}`.trim());
        }
        return said;
      };
      expect(await checks()).toEqual(Array(CHECKS).fill('up'));

      // The slot moves (its keys, then SETSLOT NODE everywhere): the worker's slot map is stale.
      for (;;) {
        const keys = (await source.cluster('GETKEYSINSLOT', slot, 100)) as string[];
        if (keys.length === 0) break;
        await source.call('MIGRATE', '127.0.0.1', to.port, '', 0, 5_000, 'KEYS', ...keys);
      }
      for (const master of await cluster.masters()) {
        const each = node(master.port);
        await each.cluster('SETSLOT', slot, 'NODE', toId).finally(() => each.disconnect());
      }
      expect((await checks())[0]).toBe('up');
    } finally {
      source.disconnect();
      target.disconnect();
    }
  }, 60_000);
});

import { TerminusModule } from '@nestjs/terminus';
import { StreamQueueHealthIndicator, StreamQueueHealthModule } from '../../../lib/terminus';
import { closeApps, startApp } from '../../fixtures/test-app';
import { startRedisCluster, type RedisClusterHandle } from '../../utils/redis-cluster';
import { randomPrefix, waitFor } from '../../utils/redis';

const CHECKS = 10;

/*
 * Review finding: the health indicator's Redis check was one PING on the commands connection,
 * which ioredis's Cluster sends to a node it picks at random. With the master holding a queue's
 * slot frozen (SIGSTOP: it neither answers nor drops its connections), a check went "up" whenever
 * the PING reached another master: about 2 checks in 3. The check must reach the master of every
 * slot the worker's queues live in. With the old check, all CHECKS of 10 read down only if every
 * PING picked the frozen master: (1/3)^10, about 1 in 59,000.
 */
describe('health on a Redis Cluster: the masters holding the queues', () => {
  let cluster: RedisClusterHandle;
  beforeAll(async () => {
    // No replicas: a frozen master stays the master of its slots.
    cluster = await startRedisCluster({ masters: 3, replicas: 0 });
  }, 60_000);
  afterEach(closeApps);
  afterAll(() => cluster?.stop());

  it("is down while the master of a queue's slot does not answer, whichever node a PING reaches", async () => {
    const t = await startApp({
      prefix: randomPrefix(),
      // A lease far longer than the spec: the check must not be down only because it lapsed.
      options: { connection: { cluster: { nodes: cluster.nodes } }, leaseMs: 60_000 },
      imports: [StreamQueueHealthModule, TerminusModule],
    });
    const indicator = t.app.get(StreamQueueHealthIndicator);
    expect((await indicator.isHealthy('queue')).queue.status).toBe('up');

    const master = await cluster.masterOf(t.keys.stream);
    await master.kill('SIGSTOP');
    try {
      const statuses: string[] = [];
      const messages: string[] = [];
      for (let i = 0; i < CHECKS; i++) {
        const { queue } = await indicator.isHealthy('queue', { timeoutMs: 300 });
        statuses.push(queue.status);
        if (queue.message) messages.push(String(queue.message));
      }
      expect(statuses).toEqual(Array(CHECKS).fill('down'));
      expect(messages[0]).toContain(`queue "default"`);
      expect(messages[0]).toContain(`:${master.port}`);
    } finally {
      await master.kill('SIGCONT');
    }
    // Answering again, it is up again: once its connection caught up (the checks' PINGs queued
    // while it was frozen are answered first, and the reply watch may have cut it meanwhile; a
    // check at once read down in CI's cluster step on a09cd17).
    await waitFor(async () => (await indicator.isHealthy('queue')).queue.status === 'up', {
      timeoutMs: 15_000,
      description: 'the check up again',
    });
  }, 60_000);
});

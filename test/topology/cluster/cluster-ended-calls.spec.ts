import { TerminusModule } from '@nestjs/terminus';
import { RedisUnreachableError } from '../../../lib';
import { RedisConnections } from '../../../lib/redis/redis-connections';
import { StreamQueueHealthIndicator, StreamQueueHealthModule } from '../../../lib/terminus';
import { expectCallsRefusedAsEnded } from '../../fixtures/ended-connection-calls';
import { heldEcho } from '../../fixtures/probe';
import { closeApps, logger, startApp } from '../../fixtures/test-app';
import { outcomeWithin } from '../../utils/outcome-within';
import { startRedisCluster, type RedisClusterHandle } from '../../utils/redis-cluster';
import { randomPrefix, waitFor } from '../../utils/redis';

/** Far past an at-once refusal: a call still pending by then waits for good. */
const SETTLED_WITHIN_MS = 5_000;

/*
 * A Cluster whose clusterRetryStrategy gave up (every node unreachable, the strategy returned null)
 * has ended for good, as a single node's connection whose retryStrategy gave up. result() said so
 * (RedisUnreachableError, the waits in progress ended), but every QueueClient call after it was
 * refused with ioredis's bare `Connection is closed.`: no code, no `mayHaveRun`, nothing saying
 * the Cluster will not come back (on one node too: see test/attack/connection-ended-calls.spec.ts).
 */
describe('a Cluster that ended for good (its clusterRetryStrategy gave up)', () => {
  let cluster: RedisClusterHandle;
  beforeAll(async () => (cluster = await startRedisCluster({ masters: 3, replicas: 0 })), 120_000);
  afterAll(async () => {
    await closeApps();
    await cluster.stop();
  });

  it("refuses every call typed, ends result()'s waits typed, and its worker's check reads down", async () => {
    let giveUp = false;
    const t = await startApp({
      prefix: randomPrefix(),
      options: {
        connection: {
          cluster: { nodes: cluster.nodes, options: { clusterRetryStrategy: () => (giveUp ? null : 50) } },
        },
      },
      imports: [StreamQueueHealthModule, TerminusModule],
    });
    heldEcho(t.probe);
    const indicator = t.app.get(StreamQueueHealthIndicator);
    expect((await indicator.isHealthy('queue')).queue.status).toBe('up');
    const keyed = await t.client.enqueue('echo', 'keyed', { key: 'k' });
    const waiting = keyed.result({ timeoutMs: Infinity });
    waiting.catch(() => undefined); // read below, once the calls were made
    const commands = t.app.get(RedisConnections).commands;
    const logged = logger.lines.length;

    giveUp = true;
    for (const server of cluster.servers) await server.kill('SIGKILL');
    await waitFor(() => commands.status === 'end', { timeoutMs: 20_000, description: 'the Cluster ended' });

    await expectCallsRefusedAsEnded(t, keyed.id, 'clusterRetryStrategy');

    // result(): the wait in progress and a new one end at once, typed (ResultWaiter, as on one node).
    for (const wait of [waiting, keyed.result({ timeoutMs: Infinity })]) {
      const outcome = await outcomeWithin(wait, SETTLED_WITHIN_MS);
      expect(outcome).toBeInstanceOf(RedisUnreachableError);
      expect((outcome as Error).message).toContain('ended and does not reconnect (its clusterRetryStrategy gave up');
    }
    // The worker gave its lease up and stopped consuming, and says why.
    const { queue } = await indicator.isHealthy('queue');
    expect(queue).toMatchObject({ status: 'down', redis: 'connection end', lease: 'lost' });
    const errors = logger.lines.slice(logged).filter((l) => l.level === 'error');
    expect(errors.map((l) => l.message)).toEqual([expect.stringContaining('ended for good (its clusterRetryStrategy')]);
  }, 90_000);
});

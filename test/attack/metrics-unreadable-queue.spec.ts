import { Registry } from 'prom-client';
import { METRIC_NAMES, StreamQueueMetricsModule } from '../../lib/metrics';
import { QueueKeys } from '../../lib/redis/keys';
import { cleanUpAfterSuite, logger, startApp } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * The depth gauges read every queue at scrape time. One queue that could not be read (a key of
 * the wrong type written by anyone, a Cluster slot whose master is down) failed the whole scrape:
 * /metrics answered an error, and every other queue's depth and every counter of the process
 * went dark with it, at the moment they matter. That queue's gauges are left out, with a warning.
 */
describe('attack: a metrics scrape with one queue that cannot be read', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  cleanUpAfterSuite(prefix, redis);

  it("still answers with the other queues' gauges and the counters", async () => {
    const registry = new Registry();
    const t = await startApp({
      prefix,
      imports: [StreamQueueMetricsModule.forRoot({ registry, queues: ['default', 'broken'] })],
    });
    await (await t.client.enqueue('echo', 'counted')).result();
    await t.client.enqueue('echo', 'waits', { delayMs: 60_000 });
    await redis.set(new QueueKeys(prefix, 'broken').delayed, 'not a sorted set');

    const text = await registry.metrics().catch((error: Error) => `scrape failed: ${error.message}`);
    expect(text).toContain(`${METRIC_NAMES.depth}{queue="default",state="delayed"} 1`);
    expect(text).toContain(`${METRIC_NAMES.tasks}{queue="default",task="echo",outcome="completed"} 1`);
    expect(text).not.toContain('queue="broken"');
    expect(logger.warnings().some((w) => w.includes('"broken"') && w.includes('WRONGTYPE'))).toBe(true);
  });
});

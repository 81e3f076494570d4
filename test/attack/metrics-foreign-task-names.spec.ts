import { Registry } from 'prom-client';
import { METRIC_NAMES, StreamQueueMetricsModule } from '../../lib/metrics';
import { cleanUpAfterSuite, expectCounters, startApp } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * The `task` label comes from the entry's task name, which anyone who can XADD to the stream
 * chooses: a label value per foreign name made a series per name in the counter and the
 * histogram (a million names, a million series kept in memory and written on every scrape).
 * Names this process has no handler for share one label value, and their runs still add up.
 */
describe('attack: metrics of entries with foreign task names', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  cleanUpAfterSuite(prefix, redis);

  it('keeps one series for every name this process has no handler for', async () => {
    const registry = new Registry();
    const t = await startApp({ prefix, imports: [StreamQueueMetricsModule.forRoot({ registry })] });
    const foreign = 300;
    const pipeline = redis.pipeline();
    for (let i = 0; i < foreign; i++) pipeline.xadd(t.keys.stream, '*', 'id', `f-${i}`, 'n', `foreign-${i}`, 'p', '1');
    await pipeline.exec();
    await (await t.client.enqueue('echo', 'mine')).result();
    await expectCounters(t.events, { 'dead-lettered': foreign, completed: 1 });

    const { values } = await registry.getSingleMetric(METRIC_NAMES.tasks)!.get();
    const labels = [...new Set(values.map((v) => String(v.labels.task)))].sort();
    const deadLettered = values
      .filter((v) => v.labels.outcome === 'dead_lettered')
      .reduce((total, v) => total + v.value, 0);
    expect({ labels, deadLettered }).toEqual({ labels: ['(unknown)', 'echo'], deadLettered: foreign });
  });
});

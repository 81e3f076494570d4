import { SpanKind } from '@opentelemetry/api';
import { StreamQueueTracingModule } from '../../lib/tracing';
import { tracingSdkForSuite } from '../fixtures/tracing-sdk';
import { expectCounters, startApp } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * A run's span copies its entry's task id, name and key into attributes, and anyone can XADD an
 * entry: one of megabytes would be exported with every span. The entry checks bound them (id 256
 * characters, name 128, key 1,024, flat or packed in field j) and dead-letter an entry past them
 * before it runs, so no span carries more. Checked in review: this held; the spec guards it.
 */
describe("attack: a foreign entry's huge id, name or key in its run's span", () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const { register, spans } = tracingSdkForSuite(prefix, redis);

  it('starts no span: the entry is dead-lettered first', async () => {
    register();
    const t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
    const huge = 'x'.repeat(1_000_000);
    await redis.xadd(t.keys.stream, '*', 'id', huge, 'n', 'echo', 'p', '1');
    await redis.xadd(t.keys.stream, '*', 'id', 'flat-key', 'n', 'echo', 'p', '1', 'k', huge);
    await redis.xadd(t.keys.stream, '*', 'id', 'packed-key', 'j', JSON.stringify(['n', 'echo', 'p', '1', 'k', huge]));
    await (await t.client.enqueue('echo', 'mine')).result();
    await expectCounters(t.events, { 'dead-lettered': 3, completed: 1 });

    const runs = spans(SpanKind.CONSUMER);
    expect({
      runs: runs.length,
      largest: Math.max(...runs.map((r) => JSON.stringify(r.attributes).length)) < 2_000,
    }).toEqual({ runs: 1, largest: true });
  });
});

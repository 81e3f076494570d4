import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { StreamQueueTracingModule } from '../../lib/tracing';
import { tracingSdkForSuite } from '../fixtures/tracing-sdk';
import { startApp, type TestApp } from '../fixtures/test-app';
import { createRedis, randomPrefix, waitFor } from '../utils/redis';

/**
 * The README: the request that enqueued a task and every run of it are one trace. A dead letter
 * keeps field t (fail.lua writes it); a redrive must carry it back into the stream.
 */
describe('attack: tracing a redriven task', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const { register, spans } = tracingSdkForSuite(prefix, redis);
  let t: TestApp;

  it.each([
    ['an unkeyed', undefined],
    ['a keyed', 'order-1'],
  ])('%s task: its redriven run is a child of the same producer span', async (_kind, key) => {
    register();
    t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
    let failing = true;
    t.probe.on('doomed', () => {
      if (failing) throw new Error('down');
    });
    const handle = await t.client.enqueue('doomed', 0, key === undefined ? {} : { key });
    await expect(handle.result()).rejects.toThrow('down');
    const [dead] = (await t.client.list('dead')).tasks;
    failing = false;
    await t.client.redrive(dead.deadLetterId!);
    await waitFor(() => spans(SpanKind.CONSUMER).length === 3, { description: 'two failed runs and the redriven one' });
    const [producer] = spans(SpanKind.PRODUCER);
    const redriven = spans(SpanKind.CONSUMER)[2];
    expect(redriven.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(redriven.spanContext().traceId).toBe(producer.spanContext().traceId);
    expect(redriven.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
  });
});

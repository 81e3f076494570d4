import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { StreamQueueTracingModule } from '../../lib/tracing';
import { tracingSdkForSuite } from '../fixtures/tracing-sdk';
import { startApp, type TestApp } from '../fixtures/test-app';
import { createRedis, randomPrefix, waitFor } from '../utils/redis';

/**
 * Handlers may throw anything (describeThrown stores strings, objects, null): a run's span must
 * describe any thrown value, end, and leave the task's stored failure as it is without tracing.
 */
describe('attack: tracing a run that throws a value that is not an Error', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const { register, spans } = tracingSdkForSuite(prefix, redis);
  let t: TestApp;

  // String() of an object with no prototype throws "Cannot convert object to primitive value":
  // the span's status threw before the span ended, and that TypeError replaced the handler's value.
  it.each([
    ['rejects', async () => Promise.reject(Object.assign(Object.create(null), { why: 'refused' }))],
    [
      'throws',
      () => {
        throw Object.assign(Object.create(null), { why: 'refused' });
      },
    ],
  ])('a handler that %s an object with no prototype: the failure stored and the span ended', async (_how, handler) => {
    register();
    t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
    t.probe.on('doomed', handler);
    const handle = await t.client.enqueue('doomed', 0);
    await expect(handle.result()).rejects.toThrow('{"why":"refused"}');
    await waitFor(() => spans(SpanKind.CONSUMER).length === 2, { description: 'both attempts ended' });
    for (const run of spans(SpanKind.CONSUMER)) {
      expect(run.status).toEqual({ code: SpanStatusCode.ERROR, message: '{"why":"refused"}' });
      expect(run.attributes['error.type']).toBe('object');
    }
  });
});

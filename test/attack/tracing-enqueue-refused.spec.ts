import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { EnqueueManyError, KeyConflictError } from '../../lib';
import { StreamQueueTracingModule } from '../../lib/tracing';
import { tracingSdkForSuite } from '../fixtures/tracing-sdk';
import { startApp, type TestApp } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * The producer span of an enqueue ends as the call does. A key held by another task's run refuses
 * the enqueue (KeyConflictError, nothing written): enqueue() ended its span in error, but
 * enqueueMany() ended its span as a success and then threw EnqueueManyError, so a trace showed a
 * successful send for a call that failed.
 */
describe('attack: the producer span of an enqueue Redis refused', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const { register, spans } = tracingSdkForSuite(prefix, redis);
  let t: TestApp;

  beforeEach(async () => {
    register();
    // Producer-only: the key's run stays queued, so the key stays held.
    t = await startApp({ prefix, imports: [StreamQueueTracingModule], options: { worker: false } });
    await t.client.enqueue('echo', 'holder', { key: 'k' });
  });

  it('enqueue(): the span is in error with the conflict', async () => {
    await expect(t.client.enqueue('flaky', 1, { key: 'k' })).rejects.toThrow(KeyConflictError);
    const refused = spans(SpanKind.PRODUCER)[1];
    expect(refused.status.code).toBe(SpanStatusCode.ERROR);
    expect(refused.attributes['error.type']).toBe('KeyConflictError');
  });

  it('enqueueMany(): the span is in error, as the call threw, and still counts its messages', async () => {
    const many = t.client.enqueueMany([
      { name: 'echo', payload: 1 },
      { name: 'flaky', payload: 2, options: { key: 'k' } },
    ]);
    await expect(many).rejects.toThrow(EnqueueManyError);
    const refused = spans(SpanKind.PRODUCER)[1];
    expect(refused.attributes['messaging.batch.message_count']).toBe(2);
    expect(refused.status.code).toBe(SpanStatusCode.ERROR);
    expect(refused.attributes['error.type']).toBe('EnqueueManyError');
  });
});

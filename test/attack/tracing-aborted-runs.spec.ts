import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { StreamQueueTracingModule } from '../../lib/tracing';
import { tracingSdkForSuite } from '../fixtures/tracing-sdk';
import { startApp, type TestApp } from '../fixtures/test-app';
import { createRedis, randomPrefix, waitFor } from '../utils/redis';

/**
 * A run aborted while its handler runs (timed out, superseded, cancelled) settles as failed once
 * the handler returns, whatever the handler returned: its span must say so. It used to end as the
 * handler did (no error), so a trace showed a successful run for an attempt the task counted as
 * failed and retried.
 */
describe('attack: the span of a run aborted while its handler ran', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const { register, spans } = tracingSdkForSuite(prefix, redis);
  let t: TestApp;

  beforeEach(async () => {
    register();
    t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
  });

  it('a handler that ignores its timeout and returns: the span ends in error with the timeout', async () => {
    t.probe.on('slow', () => new Promise((resolve) => setTimeout(() => resolve('done anyway'), 300)));
    const handle = await t.client.enqueue('slow', 0);
    await expect(handle.result()).rejects.toThrow('exceeded its timeout');
    await waitFor(() => spans(SpanKind.CONSUMER).length === 1, { description: 'the run span ended' });
    const [run] = spans(SpanKind.CONSUMER);
    expect(run.status.code).toBe(SpanStatusCode.ERROR);
    expect(run.status.message).toMatch(/exceeded its timeout of 150 ms/);
    expect(run.attributes['error.type']).toBe('TaskTimeoutError');
    expect(run.attributes['stream_queue.run.aborted']).toBe('TIMEOUT');
  });

  it('a handler that ignores its timeout and throws its own error: the span says timeout, as the task does', async () => {
    t.probe.on('slow', () => new Promise((_, reject) => setTimeout(() => reject(new Error('own failure')), 300)));
    const handle = await t.client.enqueue('slow', 0);
    await expect(handle.result()).rejects.toThrow('exceeded its timeout');
    await waitFor(() => spans(SpanKind.CONSUMER).length === 1, { description: 'the run span ended' });
    const [run] = spans(SpanKind.CONSUMER);
    expect(run.status.code).toBe(SpanStatusCode.ERROR);
    expect(run.attributes['error.type']).toBe('TaskTimeoutError');
  });

  it('a run superseded by replace() while it ran: the span ends in error, saying superseded', async () => {
    let started = 0;
    t.probe.on('once', async (payload, ctx) => {
      started++;
      // Returns a value once told it is superseded, as a handler that ignores the signal would.
      if (payload === 'first') await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      return payload;
    });
    await t.client.enqueue('once', 'first', { key: 'k' });
    await waitFor(() => started === 1, { description: 'the first generation started' });
    const second = await t.client.replace('once', 'second', { key: 'k' });
    await expect(second.result()).resolves.toBe('second');
    await waitFor(() => spans(SpanKind.CONSUMER).length === 2, { description: 'both runs ended' });
    const superseded = spans(SpanKind.CONSUMER).find((s) => s.attributes['stream_queue.task.generation'] === 1)!;
    expect(superseded.status.code).toBe(SpanStatusCode.ERROR);
    expect(superseded.status.message).toMatch(/superseded/);
    expect(superseded.attributes['error.type']).toBe('SUPERSEDED');
    expect(superseded.attributes['stream_queue.run.aborted']).toBe('SUPERSEDED');
  });
});

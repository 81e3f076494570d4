import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { CompositePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { SamplingDecision, type ReadableSpan, type Sampler } from '@opentelemetry/sdk-trace-base';
import { Test } from '@nestjs/testing';
import { StreamQueueModule } from '../../lib';
import { InvalidOptionError } from '../../lib/errors';
import { StreamQueueTracingModule } from '../../lib/tracing';
import { tracingSdkForSuite } from '../fixtures/tracing-sdk';
import { startApp, testOptions, type TestApp } from '../fixtures/test-app';
import { createRedis, randomPrefix, waitFor } from '../utils/redis';

describe('nest-stream-queue/tracing', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const { register, unregister, spans } = tracingSdkForSuite(prefix, redis);
  let t: TestApp;
  /** The raw fields of every entry written to the queue's stream so far. */
  const streamFields = async () => (await redis.xrange(t.keys.stream, '-', '+')).map(([, fields]) => fields);

  it('a run is a CONSUMER span, child of and linked to the PRODUCER span of its enqueue', async () => {
    register();
    t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
    let handlerSpan: string | undefined;
    t.probe.on('echo', (payload) => {
      handlerSpan = trace.getActiveSpan()?.spanContext().spanId;
      return payload;
    });
    const request = trace.getTracer('test').startSpan('request');
    const handle = await context.with(trace.setSpan(context.active(), request), () =>
      t.client.enqueue('echo', { a: 1 }, { key: 'k1' }),
    );
    request.end();
    await handle.result();
    await waitFor(() => spans(SpanKind.CONSUMER).length === 1, { description: 'the consumer span' });

    const [producer] = spans(SpanKind.PRODUCER);
    const [consumer] = spans(SpanKind.CONSUMER);
    expect(producer.name).toBe('send default');
    expect(producer.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(producer.attributes).toMatchObject({
      'messaging.system': 'nest_stream_queue',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.destination.name': 'default',
      'messaging.message.id': handle.id,
      'stream_queue.task.name': 'echo',
      'stream_queue.task.key': 'k1',
    });
    expect(consumer.name).toBe('process default');
    expect(consumer.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    expect(consumer.links.map((l) => l.context.spanId)).toEqual([producer.spanContext().spanId]);
    expect(consumer.attributes).toMatchObject({
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'default',
      'messaging.consumer.group.name': 'workers',
      'messaging.message.id': handle.id,
      'stream_queue.task.attempt': 1,
      'stream_queue.task.key': 'k1',
    });
    // The run's span is active in the handler: its own spans nest under it.
    expect(handlerSpan).toBe(consumer.spanContext().spanId);
    expect(consumer.status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it('every attempt of a retried task is its own span under the same producer, the failed ones in error', async () => {
    register();
    t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
    t.probe.on('doomed', () => {
      throw new TypeError('bad');
    });
    const handle = await t.client.enqueue('doomed', 0);
    await expect(handle.result()).rejects.toThrow('bad');
    await waitFor(() => spans(SpanKind.CONSUMER).length === 2, { description: 'two attempts' });
    const [producer] = spans(SpanKind.PRODUCER);
    const runs: ReadableSpan[] = spans(SpanKind.CONSUMER);
    expect(runs.map((s) => s.attributes['stream_queue.task.attempt']).sort()).toEqual([1, 2]);
    for (const run of runs) {
      expect(run.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
      expect(run.status.code).toBe(SpanStatusCode.ERROR);
      expect(run.attributes['error.type']).toBe('TypeError');
    }
  });

  it('enqueueMany is one PRODUCER span with its message count; each task carries its context', async () => {
    register();
    t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
    const handles = await t.client.enqueueMany([
      { name: 'echo', payload: 1 },
      { name: 'echo', payload: 2 },
      { name: 'echo', payload: 3, options: { key: 'k' } },
    ]);
    await Promise.all(handles.map((h) => h.result()));
    await waitFor(() => spans(SpanKind.CONSUMER).length === 3, { description: 'three runs' });
    const [producer] = spans(SpanKind.PRODUCER);
    expect(producer.attributes['messaging.batch.message_count']).toBe(3);
    for (const run of spans(SpanKind.CONSUMER)) {
      expect(run.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    }
  });

  it('runs read in a row take the parent their own field names, whether repeated or not', async () => {
    register();
    t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
    const traceId = 'a'.repeat(32);
    const field = (spanId: string) => JSON.stringify({ traceparent: `00-${traceId}-${spanId}-01` });
    const parents = ['1'.repeat(16), '1'.repeat(16), '2'.repeat(16), '1'.repeat(16), '3'.repeat(16)];
    // One XADD for all: the worker reads them in one batch, in this order.
    const pipeline = redis.pipeline();
    for (const [i, spanId] of parents.entries()) {
      pipeline.xadd(t.keys.stream, '*', 'id', `r${i}`, 'n', 'echo', 'p', String(i), 't', field(spanId));
    }
    await pipeline.exec();
    await waitFor(() => spans(SpanKind.CONSUMER).length === parents.length, { description: 'every run' });
    const byTask = new Map(spans(SpanKind.CONSUMER).map((s) => [s.attributes['messaging.message.id'], s]));
    for (const [i, spanId] of parents.entries()) {
      const run = byTask.get(`r${i}`)!;
      expect(run.spanContext().traceId).toBe(traceId);
      expect(run.parentSpanContext?.spanId).toBe(spanId);
      expect(run.links.map((l) => l.context.spanId)).toEqual([spanId]);
    }
  });

  it('a field read again after the SDK was registered anew is read by the new propagator', async () => {
    const field = JSON.stringify({ traceparent: `00-${'b'.repeat(32)}-${'4'.repeat(16)}-01` });
    const enqueueRaw = (id: string) => redis.xadd(t.keys.stream, '*', 'id', id, 'n', 'echo', 'p', '0', 't', field);
    register();
    t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
    await enqueueRaw('w3c');
    await waitFor(() => spans(SpanKind.CONSUMER).length === 1, { description: 'the run under W3C' });
    expect(spans(SpanKind.CONSUMER)[0].parentSpanContext?.spanId).toBe('4'.repeat(16));

    // A restarted SDK whose propagator reads no traceparent: the same field gives no parent.
    unregister();
    register({ propagator: new CompositePropagator({ propagators: [] }) });
    await enqueueRaw('none');
    await waitFor(() => spans(SpanKind.CONSUMER).length === 2, { description: 'the run after the restart' });
    const run = spans(SpanKind.CONSUMER).find((s) => s.attributes['messaging.message.id'] === 'none')!;
    expect(run.parentSpanContext).toBeUndefined();
    expect(run.links).toEqual([]);
  });

  it('a delayed task keeps its context through the delayed set', async () => {
    register();
    t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
    await (await t.client.enqueue('echo', 1, { delayMs: 50 })).result();
    await waitFor(() => spans(SpanKind.CONSUMER).length === 1, { description: 'the run' });
    expect(spans(SpanKind.CONSUMER)[0].parentSpanContext?.spanId).toBe(
      spans(SpanKind.PRODUCER)[0].spanContext().spanId,
    );
  });

  describe('a run of an unsampled trace', () => {
    /** Records every CONSUMER span whatever its parent decided: a sampler that is not parent-based. */
    const consumersOnly: Sampler = {
      shouldSample: (_context, _traceId, _name, kind) => ({
        decision: kind === SpanKind.CONSUMER ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD,
      }),
      toString: () => 'consumersOnly',
    };
    const traceId = 'c'.repeat(32);
    const enqueueRaw = (id: string, flags: '00' | '01') =>
      redis.xadd(
        t.keys.stream,
        '*',
        'id',
        id,
        'n',
        'echo',
        'p',
        '0',
        't',
        JSON.stringify({ traceparent: `00-${traceId}-${'5'.repeat(16)}-${flags}` }),
      );
    const runOf = (id: string) => spans(SpanKind.CONSUMER).find((s) => s.attributes['messaging.message.id'] === id);

    it("starts no span by default: its handler runs in the enqueue's unsampled context", async () => {
      register({ sampler: consumersOnly });
      t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
      const seen = new Map<string, { spanId?: string; sampled?: boolean }>();
      t.probe.on('echo', (payload, ctx) => {
        const active = trace.getActiveSpan()?.spanContext();
        seen.set(ctx.id, { spanId: active?.spanId, sampled: active && (active.traceFlags & 1) === 1 });
        return payload;
      });
      await enqueueRaw('unsampled', '00');
      await enqueueRaw('sampled', '01');
      await waitFor(() => seen.size === 2, { description: 'both runs' });
      await waitFor(() => runOf('sampled') !== undefined, { description: "the sampled run's span" });
      expect(runOf('unsampled')).toBeUndefined();
      // The handler of the unsampled run sees the enqueue's context: its spans inherit "not sampled".
      expect(seen.get('unsampled')).toEqual({ spanId: '5'.repeat(16), sampled: false });
      expect(seen.get('sampled')).toEqual({ spanId: runOf('sampled')!.spanContext().spanId, sampled: true });
    });

    it('an unsampled enqueue marks its field; its runs read the context only if the handler does', async () => {
      // Counts extractions: a run that never reads its context must not pay for one.
      const w3c = new W3CTraceContextPropagator();
      let extractions = 0;
      register({
        sampler: consumersOnly,
        propagator: {
          inject: (ctx, carrier, setter) => w3c.inject(ctx, carrier, setter),
          extract: (ctx, carrier, getter) => {
            extractions++;
            return w3c.extract(ctx, carrier, getter);
          },
          fields: () => w3c.fields(),
        },
      });
      t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
      let readTrace: string | undefined;
      t.probe.on('echo', (payload) => {
        if (payload === 'reads') readTrace = trace.getActiveSpan()?.spanContext().traceId;
        return payload;
      });
      const request = trace.getTracer('test').startSpan('request'); // not sampled: INTERNAL
      await context.with(trace.setSpan(context.active(), request), async () => {
        await (await t.client.enqueue('echo', 'quiet')).result();
        expect(extractions).toBe(0);
        await (await t.client.enqueue('echo', 'reads')).result();
      });
      expect(extractions).toBe(1);
      expect(readTrace).toBe(request.spanContext().traceId);
      expect(spans(SpanKind.CONSUMER)).toHaveLength(0);
      const fields = (await streamFields()).map((f) => f[f.indexOf('t') + 1]);
      for (const field of fields) expect(JSON.parse(field)).toMatchObject({ 'sq-unsampled': '1' });
    });

    it("the runs of one unsampled enqueueMany each see its context, extracted once; the next call's see their own", async () => {
      const w3c = new W3CTraceContextPropagator();
      let extractions = 0;
      register({
        sampler: consumersOnly,
        propagator: {
          inject: (ctx, carrier, setter) => w3c.inject(ctx, carrier, setter),
          extract: (ctx, carrier, getter) => {
            extractions++;
            return w3c.extract(ctx, carrier, getter);
          },
          fields: () => w3c.fields(),
        },
      });
      t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
      const seen = new Map<unknown, { traceId?: string; spanId?: string; remote?: boolean; sampled?: boolean }>();
      t.probe.on('echo', (payload) => {
        const active = trace.getActiveSpan()?.spanContext();
        const { traceId, spanId, isRemote: remote } = active ?? {};
        seen.set(payload, { traceId, spanId, remote, sampled: active && active.traceFlags === 1 });
        return payload;
      });
      const requests = [trace.getTracer('test').startSpan('first'), trace.getTracer('test').startSpan('second')];
      for (const [call, request] of requests.entries()) {
        await context.with(trace.setSpan(context.active(), request), async () => {
          const handles = await t.client.enqueueMany([0, 1, 2].map((i) => ({ name: 'echo', payload: `${call}.${i}` })));
          await Promise.all(handles.map((h) => h.result()));
        });
      }
      expect(extractions).toBe(2);
      // Each call's runs see its (unsampled) PRODUCER span, as a local parent (see asLocalParent).
      const producers = requests.map((request, call) => {
        const first = seen.get(`${call}.0`)!;
        expect(first).toMatchObject({ traceId: request.spanContext().traceId, remote: false, sampled: false });
        for (const i of [1, 2]) expect(seen.get(`${call}.${i}`)).toEqual(first);
        return first.spanId;
      });
      expect(producers[0]).not.toBe(producers[1]);
      expect(spans(SpanKind.CONSUMER)).toHaveLength(0);
    });

    it('asks the sampler with askSamplerForUnsampledTraces', async () => {
      register({ sampler: consumersOnly });
      t = await startApp({
        prefix,
        imports: [StreamQueueTracingModule.forRoot({ askSamplerForUnsampledTraces: true })],
      });
      await enqueueRaw('unsampled', '00');
      await waitFor(() => runOf('unsampled') !== undefined, { description: 'the span the sampler recorded' });
      expect(runOf('unsampled')!.parentSpanContext?.spanId).toBe('5'.repeat(16));
    });

    it('imported bare and with forRoot, the module is one tracer; two different forRoot fail bootstrap', async () => {
      register({ sampler: consumersOnly });
      const bareAndConfigured = [
        StreamQueueTracingModule,
        StreamQueueTracingModule.forRoot({ askSamplerForUnsampledTraces: true }),
      ];
      t = await startApp({ prefix, imports: bareAndConfigured });
      await enqueueRaw('unsampled', '00');
      await waitFor(() => runOf('unsampled') !== undefined, { description: "the configured tracer's span" });
      const conflicting = Test.createTestingModule({
        imports: [
          StreamQueueModule.forRoot(testOptions(prefix, { worker: false, connection: redis })),
          StreamQueueTracingModule.forRoot({ askSamplerForUnsampledTraces: true }),
          StreamQueueTracingModule.forRoot({ askSamplerForUnsampledTraces: false }),
        ],
      }).compile();
      await expect(conflicting).rejects.toThrow(/askSamplerForUnsampledTraces/);
    });

    it('a bad option fails at startup, naming it', () => {
      expect(() => StreamQueueTracingModule.forRoot({ askSamplerForUnsampledTraces: 'yes' as never })).toThrow(
        InvalidOptionError,
      );
      expect(() => StreamQueueTracingModule.forRoot({ askSamplerForUnsampledTraces: 1 as never })).toThrow(
        /askSamplerForUnsampledTraces/,
      );
    });
  });

  it('with no tracer provider registered: no trace field is written and no span is made', async () => {
    t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
    let untraced: string[][] = [];
    t.probe.on('echo', async (payload) => {
      if (payload === 1) untraced = await streamFields();
      return payload;
    });
    await (await t.client.enqueue('echo', 1)).result();
    expect(untraced).toHaveLength(1);
    expect(untraced[0]).not.toContain('t');
    expect(spans(SpanKind.CONSUMER)).toHaveLength(0);
    // Registering the provider afterwards turns tracing on without a restart.
    register();
    await (await t.client.enqueue('echo', 2)).result();
    await waitFor(() => spans(SpanKind.CONSUMER).length === 1, { description: 'the second run traced' });
    expect(spans(SpanKind.PRODUCER)).toHaveLength(1);
  });

  it('a hostile trace field never costs the task: it runs in a new trace', async () => {
    register();
    t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
    const hostile = [
      'not json',
      '{"traceparent":{"nested":1}}',
      '{"__proto__":{"polluted":"yes"},"traceparent":"00-zz-zz-01"}',
      `{${Array.from({ length: 20 }, (_, i) => `"k${i}":"v"`).join(',')}}`,
      '[1,2]',
      'x'.repeat(5_000),
    ];
    for (const [i, field] of hostile.entries()) {
      await redis.xadd(t.keys.stream, '*', 'id', `h${i}`, 'n', 'echo', 'p', String(i), 't', field);
    }
    await waitFor(() => t.probe.runsOf('echo').length === hostile.length, { description: 'every hostile run' });
    await waitFor(() => spans(SpanKind.CONSUMER).length === hostile.length, { description: 'their spans' });
    for (const run of spans(SpanKind.CONSUMER)) expect(run.parentSpanContext).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  // A propagator that throws on a malformed header (Jaeger's decodes uber-trace-id with
  // decodeURIComponent) threw out of the run's wrapper: the handler never ran, the run failed on
  // every attempt and was dead-lettered over its trace field (a review finding; it failed).
  it("a propagator that throws on an entry's field costs the run nothing: it runs in a new trace", async () => {
    const w3c = new W3CTraceContextPropagator();
    register({
      propagator: {
        inject: (ctx, carrier, setter) => w3c.inject(ctx, carrier, setter),
        extract: (ctx, carrier, getter) => {
          const jaeger = getter.get(carrier, 'uber-trace-id');
          if (typeof jaeger === 'string') decodeURIComponent(jaeger);
          return w3c.extract(ctx, carrier, getter);
        },
        fields: () => ['uber-trace-id', ...w3c.fields()],
      },
    });
    t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
    const seen: (string | undefined)[] = [];
    t.probe.on('echo', (payload) => {
      // Reading the context extracts a deferred (unsampled) one.
      seen.push(trace.getActiveSpan()?.spanContext().traceId);
      return payload;
    });
    const fields = ['{"uber-trace-id":"%E0%A4%A"}', '{"uber-trace-id":"%E0%A4%A","sq-unsampled":"1"}'];
    for (const [i, field] of fields.entries()) {
      await redis.xadd(t.keys.stream, '*', 'id', `j${i}`, 'n', 'echo', 'p', String(i), 't', field);
    }
    await waitFor(() => seen.length === fields.length, { description: 'both handlers ran' });
    await waitFor(async () => (await t.client.counts()).deadLettered === 0 && (await t.client.counts()).running === 0, {
      description: 'both settled',
    });
    expect((await t.client.counts()).deadLettered).toBe(0);
    expect(spans(SpanKind.CONSUMER).map((s) => s.parentSpanContext)).toEqual([undefined]);
  });

  // A propagator that threw in inject() threw out of the enqueue after its PRODUCER span had
  // started: the task was not enqueued and the span never ended (a review finding; it failed).
  it('a propagator that throws in inject() costs the enqueue nothing: no field, the span ended', async () => {
    const w3c = new W3CTraceContextPropagator();
    register({
      propagator: {
        inject: () => {
          throw new Error('propagator bug');
        },
        extract: (ctx, carrier, getter) => w3c.extract(ctx, carrier, getter),
        fields: () => w3c.fields(),
      },
    });
    t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
    expect(await (await t.client.enqueue('echo', 7)).result()).toBe(7);
    await waitFor(() => spans(SpanKind.CONSUMER).length === 1, { description: 'the run span' });
    expect(spans(SpanKind.PRODUCER)).toHaveLength(1);
  });
});

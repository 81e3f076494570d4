import { context, propagation, ROOT_CONTEXT, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import {
  CompositePropagator,
  suppressTracing,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { AlwaysOnSampler, ParentBasedSampler } from '@opentelemetry/sdk-trace-base';
import { MAX_TRACE_LENGTH } from '../../lib/task/task-message';
import { StreamQueueTracingModule } from '../../lib/tracing';
import { tracingSdkForSuite } from '../fixtures/tracing-sdk';
import { startApp, type TestApp } from '../fixtures/test-app';
import { createRedis, randomPrefix, waitFor } from '../utils/redis';

/**
 * Attacks on 7d43b6f: "a run of an unsampled trace starts no span; the handler runs in the
 * enqueue's context". The producer's mark ("sq-unsampled":"1") and the consumer's shortcut are
 * checked against what the consumer did before the commit (extract, start a span the sampler
 * decides, run the handler in that span's context).
 */
describe('attack: the unsampled mark and the deferred parent', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const { exporter, register, spans } = tracingSdkForSuite(prefix, redis);
  let t: TestApp;
  /** A context under an upstream service's request that its sampler dropped (flags 00). */
  const unsampledUpstream = (base = ROOT_CONTEXT) =>
    trace.setSpanContext(base, {
      traceId: 'd'.repeat(32),
      spanId: 'e'.repeat(16),
      traceFlags: TraceFlags.NONE,
      isRemote: true,
    });

  describe('a mark with no trace context beside it', () => {
    // Before 7d43b6f an enqueue whose propagator wrote nothing wrote no field t, and its run was
    // the root of a new trace, sampled by the root sampler. Now the field is the mark alone
    // ('{"sq-unsampled":"1"}'): the run trusts "unsampled" for a trace it was never given, and
    // starts no span at all.
    it('an enqueue under suppressTracing: its run is still a new traced root', async () => {
      register(); // the default sampler: ParentBased(AlwaysOn)
      t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
      const handle = await context.with(suppressTracing(context.active()), () => t.client.enqueue('echo', 1));
      await handle.result();
      await waitFor(() => spans(SpanKind.CONSUMER).length === 1, {
        description: 'the run as the root of a new trace',
        timeoutMs: 2_000,
      });
      expect(spans(SpanKind.CONSUMER)[0].parentSpanContext).toBeUndefined();
    });

    it('an SDK with no propagator: a run of an unsampled enqueue is a new traced root, as before', async () => {
      // A provider set without a propagator (propagation stays the no-op): nothing crosses the queue.
      register({ propagator: null });
      t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
      const handle = await context.with(unsampledUpstream(), () => t.client.enqueue('echo', 1));
      await handle.result();
      await waitFor(() => spans(SpanKind.CONSUMER).length === 1, {
        description: 'the run as the root of a new trace',
        timeoutMs: 2_000,
      });
    });
  });

  // The mark adds 19 characters to the carrier: one that fit MAX_TRACE_LENGTH no longer does,
  // and encodeCarrier drops the whole field. The run of an unsampled trace then loses its
  // enqueue's context (trace id, baggage) and becomes a new root that ParentBased(AlwaysOn)
  // samples: exactly the spans the change meant to save, plus a broken trace.
  it('an unsampled carrier that fits the limit still reaches the run once marked', async () => {
    register({
      propagator: new CompositePropagator({
        propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
      }),
    });
    t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
    // Baggage sized so that the unmarked carrier is 5 characters under the limit.
    const traceparent = `00-${'d'.repeat(32)}-${'f'.repeat(16)}-00`;
    const unmarked = (value: string) => JSON.stringify({ traceparent, baggage: `big=${value}` }).length;
    const value = 'v'.repeat(MAX_TRACE_LENGTH - 5 - unmarked(''));
    expect(unmarked(value)).toBe(MAX_TRACE_LENGTH - 5);
    const seen: { field?: string; traceId?: string; baggage?: string } = {};
    t.probe.on('echo', async (payload) => {
      seen.traceId = trace.getActiveSpan()?.spanContext().traceId;
      seen.baggage = propagation.getActiveBaggage()?.getEntry('big')?.value;
      // The entry while it runs (a settled entry leaves the stream).
      const [fields] = (await redis.xrange(t.keys.stream, '-', '+')).map(([, f]) => f);
      seen.field = fields.includes('t') ? fields[fields.indexOf('t') + 1] : undefined;
      return payload;
    });
    const parent = propagation.setBaggage(unsampledUpstream(), propagation.createBaggage({ big: { value } }));
    await (await context.with(parent, () => t.client.enqueue('echo', 1))).result();

    expect(seen.field).toBeDefined();
    expect({ traceId: seen.traceId, baggage: seen.baggage }).toEqual({ traceId: 'd'.repeat(32), baggage: value });
    expect(spans(SpanKind.CONSUMER)).toHaveLength(0);
  });

  // The option's doc: the default "is what the SDK's default sampler, and any ParentBasedSampler,
  // would decide". For the run's span, yes; not for the handler's spans: their parent used to be
  // the run's (local) span, now it is the enqueue's extracted (remote) context, so a
  // ParentBasedSampler decides them with remoteParentNotSampled instead of localParentNotSampled.
  it("ParentBasedSampler({ localParentNotSampled }): the handler's own spans are decided as before", async () => {
    register({
      sampler: new ParentBasedSampler({ root: new AlwaysOnSampler(), localParentNotSampled: new AlwaysOnSampler() }),
    });
    t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
    let isRemote: boolean | undefined;
    t.probe.on('echo', (payload) => {
      isRemote = trace.getActiveSpan()?.spanContext().isRemote;
      trace.getTracer('handler').startSpan('handler work').end();
      return payload;
    });
    await (await context.with(unsampledUpstream(), () => t.client.enqueue('echo', 1))).result();
    // Before 7d43b6f: the active span in the handler was the run's local (non-recording) span.
    expect(isRemote).not.toBe(true);
    await waitFor(() => exporter.getFinishedSpans().some((s) => s.name === 'handler work'), {
      description: "the handler's span, sampled by localParentNotSampled",
      timeoutMs: 2_000,
    });
  });

  // forRoot() is a dynamic module apart from the bare class: a library module importing the bare
  // module and an app importing forRoot(options) give two instances, each adding its run wrapper.
  // Before 7d43b6f the module had no forRoot: any number of imports was one instance.
  it('imported bare and with forRoot(): one CONSUMER span per run', async () => {
    register();
    t = await startApp({
      prefix,
      imports: [StreamQueueTracingModule, StreamQueueTracingModule.forRoot({ askSamplerForUnsampledTraces: true })],
    });
    await (await t.client.enqueue('echo', 1)).result();
    await waitFor(() => spans(SpanKind.CONSUMER).length >= 1, { description: 'the run span' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(spans(SpanKind.CONSUMER)).toHaveLength(1);
  });

  // Anyone can write to the stream. The run used to look for the mark anywhere in field t, so a
  // foreign writer that put it before a sampled traceparent silenced the run's span in a trace
  // that was sampled. Our producer puts it last; only there is it ours.
  it('a mark that is not the last field of t does not silence a run of a sampled trace', async () => {
    register();
    t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
    const traceId = 'a'.repeat(32);
    const field = `{"sq-unsampled":"1","traceparent":"00-${traceId}-${'b'.repeat(16)}-01"}`;
    await redis.xadd(t.keys.stream, '*', 'id', 'foreign-1', 'n', 'echo', 'p', '1', 't', field);
    await waitFor(() => t.probe.runsOf('echo').length === 1, { description: 'the foreign run' });
    await waitFor(() => spans(SpanKind.CONSUMER).length === 1, {
      description: "the run's span, a child of the sampled traceparent",
      timeoutMs: 2_000,
    });
    expect(spans(SpanKind.CONSUMER)[0].spanContext().traceId).toBe(traceId);
  });
});

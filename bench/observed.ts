/**
 * The observed sides of the drain (observed-sides.ts): the same nest-stream-queue app with
 * StreamQueueMetricsModule (its own registry) and StreamQueueTracingModule, under a real SDK setup
 * (a batching span processor, the W3C propagator, an AsyncLocalStorage context manager) whose
 * exporter drops the spans, so the cost measured is the library's and the SDK's, not a network's.
 * The prefill runs in the same process with the SDK installed: each enqueue's PRODUCER span is a
 * root, the sampler decides it, and the runs of its tasks follow that decision (parent-based).
 */
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { StreamQueueMetricsModule } from '../lib/metrics';
import { StreamQueueTracingModule } from '../lib/tracing';
import { observedParts as parts, SAMPLED_RATIO, type ObservedSide } from './observed-sides';

const dropping: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: () => Promise.resolve(),
};

/** Tasks whose enqueue span was recorded: their runs record spans too (parent-based). */
let tracedTasks = 0;

/** Counts, at the end of each recorded PRODUCER span (prefill only), the tasks it sent. */
const producerCounter: SpanProcessor = {
  onStart: () => {},
  onEnd: (span: ReadableSpan) => {
    if (span.kind !== SpanKind.PRODUCER) return;
    const count = span.attributes['messaging.batch.message_count'];
    tracedTasks += typeof count === 'number' ? count : 1;
  },
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

/** Registers the SDK once per child process (each measurement runs in its own). */
export function installTracing(side: ObservedSide): void {
  if (!parts().sdk) return;
  const sampler =
    side === 'sq-observed-sampled'
      ? new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(SAMPLED_RATIO) })
      : undefined;
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ sampler, spanProcessors: [producerCounter, new BatchSpanProcessor(dropping)] }),
  );
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/** Tasks traced so far in this process (undefined without an SDK). */
export function tracedTaskCount(): number | undefined {
  return parts().sdk ? tracedTasks : undefined;
}

/** What the observed sides add to the bench app's imports. */
export function observabilityImports() {
  const { metrics, tracing } = parts();
  return [
    ...(metrics ? [StreamQueueMetricsModule.forRoot({ registry: new Registry() })] : []),
    ...(tracing ? [StreamQueueTracingModule] : []),
  ];
}

/**
 * The "metrics + tracing" side of the drain: the same nest-stream-queue app with
 * StreamQueueMetricsModule (its own registry) and StreamQueueTracingModule, under a real SDK setup
 * (a batching span processor, the W3C propagator, an AsyncLocalStorage context manager) whose
 * exporter drops the spans, so the cost measured is the library's and the SDK's, not a network's.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { StreamQueueMetricsModule } from '../lib/metrics';
import { StreamQueueTracingModule } from '../lib/tracing';

const dropping: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: () => Promise.resolve(),
};

/** Registers the SDK once per child process (each measurement runs in its own). */
export function installTracing(): void {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropping)] }));
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/** What the observed side adds to the bench app's imports. */
export function observabilityImports() {
  return [StreamQueueMetricsModule.forRoot({ registry: new Registry() }), StreamQueueTracingModule];
}

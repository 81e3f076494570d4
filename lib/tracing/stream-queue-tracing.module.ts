import { Module } from '@nestjs/common';
import { StreamQueueInstrumentation } from '../stream-queue.instrumentation';
import { traceEnqueue, traceRun } from './queue-tracer';

/**
 * OpenTelemetry tracing of enqueues and runs, through `@opentelemetry/api` only: the app's SDK
 * decides where spans go. While no tracer provider is registered, an enqueue writes no trace
 * field and a run starts no span. Needs StreamQueueModule (global by default).
 * @publicApi
 */
@Module({})
export class StreamQueueTracingModule {
  // Plugged in at construction: before any onModuleInit can enqueue, and before consumers start.
  constructor(instrumentation: StreamQueueInstrumentation) {
    instrumentation.setEnqueueWrapper(traceEnqueue);
    instrumentation.addRunWrapper(traceRun);
  }
}

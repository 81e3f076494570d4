import { type DynamicModule, Inject, Module, Optional } from '@nestjs/common';
import { InvalidOptionError } from '../errors';
import { snapshotOptions } from '../options-snapshot';
import { StreamQueueInstrumentation } from '../stream-queue.instrumentation';
import { traceEnqueue, traceRuns } from './queue-tracer';
import type { StreamQueueTracingOptions } from './tracing-options.interface';

const TRACING_OPTIONS = Symbol('StreamQueueTracingOptions');

/**
 * OpenTelemetry tracing of enqueues and runs, through `@opentelemetry/api` only: the app's SDK
 * decides where spans go. While no tracer provider is registered, an enqueue writes no trace
 * field and a run starts no span. Import it bare, or `StreamQueueTracingModule.forRoot(options)`.
 * Needs StreamQueueModule (global by default).
 * @publicApi
 */
@Module({})
export class StreamQueueTracingModule {
  /** Tracing with options; throws InvalidOptionError, naming the option, for a bad one. */
  static forRoot(options: StreamQueueTracingOptions = {}): DynamicModule {
    return {
      module: StreamQueueTracingModule,
      providers: [{ provide: TRACING_OPTIONS, useValue: resolveTracingOptions(options) }],
    };
  }

  // Plugged in at construction: before any onModuleInit can enqueue, and before consumers start.
  constructor(
    instrumentation: StreamQueueInstrumentation,
    @Optional() @Inject(TRACING_OPTIONS) options?: Required<StreamQueueTracingOptions>,
  ) {
    instrumentation.setTracing({
      enqueue: traceEnqueue,
      run: traceRuns(options ?? resolveTracingOptions({})),
      options: options && { ...options },
    });
  }
}

function resolveTracingOptions(raw: StreamQueueTracingOptions): Required<StreamQueueTracingOptions> {
  if (typeof raw !== 'object' || raw === null) throw new InvalidOptionError('options', 'an object', raw);
  // Read once, first: an option whose getter throws is refused by name (snapshotOptions).
  const { askSamplerForUnsampledTraces = false } = snapshotOptions(raw, '', ['askSamplerForUnsampledTraces']);
  if (typeof askSamplerForUnsampledTraces !== 'boolean') {
    throw new InvalidOptionError('askSamplerForUnsampledTraces', 'a boolean', askSamplerForUnsampledTraces);
  }
  return { askSamplerForUnsampledTraces };
}

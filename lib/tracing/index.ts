export { StreamQueueTracingModule } from './stream-queue-tracing.module';
export type { StreamQueueTracingOptions } from './tracing-options.interface';

export { StreamQueueTracingModule } from './stream-queue-tracing.module';

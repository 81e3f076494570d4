export { StreamQueueHealthIndicator, type StreamQueueHealthOptions } from './stream-queue-health.indicator';
export { StreamQueueHealthModule } from './stream-queue-health.module';

export type { StreamQueueMetricsOptions } from './metrics-options.interface';
export { StreamQueueMetricsModule } from './stream-queue-metrics.module';
export { METRIC_NAMES, StreamQueueMetrics } from './stream-queue.metrics';

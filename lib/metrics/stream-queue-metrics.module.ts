import { Module } from '@nestjs/common';
import { ConfigurableModuleClass } from './stream-queue-metrics.module-definition';
import { StreamQueueMetrics } from './stream-queue.metrics';

/**
 * Prometheus metrics of the application's queues (prom-client): counters from this process's
 * task events, gauges read from Redis at scrape time. Needs StreamQueueModule (global by default).
 * `StreamQueueMetricsModule.forRoot({ registry?, queues?, durationBuckets?, timeoutMs? })`.
 * @publicApi
 */
@Module({
  providers: [StreamQueueMetrics],
  exports: [StreamQueueMetrics],
})
export class StreamQueueMetricsModule extends ConfigurableModuleClass {}

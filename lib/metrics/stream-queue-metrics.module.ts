import { type DynamicModule, Module } from '@nestjs/common';
import { snapshotOptions } from '../options-snapshot';
import { ConfigurableModuleClass, type OPTIONS_TYPE } from './stream-queue-metrics.module-definition';
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
export class StreamQueueMetricsModule extends ConfigurableModuleClass {
  /** Each option read once, first: one whose getter throws is refused by name (snapshotOptions). */
  static override forRoot(options: typeof OPTIONS_TYPE): DynamicModule {
    return super.forRoot(snapshotOptions(options, ''));
  }
}

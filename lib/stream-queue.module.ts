import { type DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ConsumerHost } from './consumer/consumer.host';
import { ConsumerLifecycleModule } from './consumer/consumer-lifecycle.module';
import { FleetEventRelay } from './consumer/fleet-event-relay';
import { QueueClient } from './client/queue-client';
import { RedisConnections } from './redis/redis-connections';
import { ResultWaiter } from './client/result-waiter';
import { PartitionLayouts } from './partitions/partition-layout';
import { LostLayouts } from './partitions/lost-layouts';
import { PeriodicScheduler } from './task/periodic-scheduler';
import { resolveConfig } from './stream-queue.config';
import { STREAM_QUEUE_CONFIG } from './stream-queue.constants';
import { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, type OPTIONS_TYPE } from './stream-queue.module-definition';
import { snapshotOptions } from './options-snapshot';
import { StreamQueueEvents } from './stream-queue.events';
import { StreamQueueInstrumentation } from './stream-queue.instrumentation';
import { StreamQueueLifecycle } from './stream-queue.lifecycle';
import { TaskEnhancers } from './task/task.enhancers';
import { TaskExplorer } from './task/task.explorer';
import { TaskRegistry } from './task/task.registry';

/**
 * Provides `QueueClient` and runs every `@Task()` handler of the application on Redis Streams.
 * `StreamQueueModule.forRoot(options)` or `.forRootAsync({ useFactory, inject, imports })`.
 * @publicApi
 */
@Module({
  imports: [DiscoveryModule, ConsumerLifecycleModule],
  providers: [
    { provide: STREAM_QUEUE_CONFIG, useFactory: resolveConfig, inject: [MODULE_OPTIONS_TOKEN] },
    RedisConnections,
    PartitionLayouts,
    LostLayouts,
    TaskRegistry,
    TaskExplorer,
    TaskEnhancers,
    StreamQueueEvents,
    StreamQueueInstrumentation,
    ResultWaiter,
    QueueClient,
    ConsumerHost,
    StreamQueueLifecycle,
    PeriodicScheduler,
    FleetEventRelay,
  ],
  exports: [
    QueueClient,
    StreamQueueEvents,
    StreamQueueLifecycle,
    StreamQueueInstrumentation,
    TaskRegistry,
    ConsumerHost,
    RedisConnections,
    PartitionLayouts,
  ],
})
export class StreamQueueModule extends ConfigurableModuleClass {
  /**
   * The builder's forRoot() reads every option as it copies them: each is read here first, so
   * one whose getter throws is an InvalidOptionError naming it, not the getter's bare error.
   */
  static override forRoot(options: typeof OPTIONS_TYPE): DynamicModule {
    return super.forRoot(snapshotOptions(options, ''));
  }
}

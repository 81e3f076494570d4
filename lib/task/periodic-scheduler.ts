import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { PartitionLayouts } from '../partitions/partition-layout';
import { RedisConnections } from '../redis/redis-connections';
import type { StreamQueueConfig } from '../stream-queue.config';
import { STREAM_QUEUE_CONFIG } from '../stream-queue.constants';
import { schedulePeriodicScript } from '../scripts/schedule-periodic.script';
import { describeSchedule, firstFires } from './periodic-call';
import { periodicKey } from './schedule';
import { TaskRegistry } from './task.registry';

/**
 * @internal Puts the chain of every periodic task in place when a worker boots, in one atomic
 * script per task (schedule-periodic.lua): however many workers boot at once, the queue holds
 * one live run, and a definition that changed since the last boot (period, cron, zone) re-times
 * the chain exactly once. Each run schedules its successor when it settles. A chain stopped by
 * cancel() is not live, so a boot puts it back: the code's definition says the task runs.
 */
@Injectable()
export class PeriodicScheduler implements OnApplicationBootstrap {
  private readonly logger = new Logger('StreamQueue');

  constructor(
    @Inject(STREAM_QUEUE_CONFIG) private readonly config: StreamQueueConfig,
    private readonly connections: RedisConnections,
    private readonly registry: TaskRegistry,
    private readonly layouts: PartitionLayouts,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.worker) return;
    const redis = this.connections.commands;
    for (const name of this.registry.names()) {
      const { options } = this.registry.get(name)!;
      const schedule = options.schedule;
      if (!schedule) continue;
      // A periodic chain lives in its key's partition: partition 0 under every count.
      const keys = this.layouts.partitionsOf(options.queue).forKey(periodicKey(name));
      const { generation, outcome } = await schedulePeriodicScript(keys, {
        mode: 'boot',
        name,
        queue: options.queue,
        schedule,
        fires: await firstFires(redis, schedule, periodicKey(name)),
      }).run(redis);
      if (outcome === 'created') this.logger.log(`Scheduled periodic task "${name}" (generation ${generation}).`);
      if (outcome === 'retimed') {
        this.logger.log(
          `Re-timed periodic task "${name}" to ${describeSchedule(schedule)}: its definition changed (generation ${generation}).`,
        );
      }
    }
  }
}

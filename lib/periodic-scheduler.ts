import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { PartitionLayouts } from './partitions/partition-layout';
import { RedisConnections } from './redis/redis-connections';
import { runScript } from './redis/scripts';
import type { StreamQueueConfig } from './stream-queue.config';
import { STREAM_QUEUE_CONFIG } from './stream-queue.constants';
import {
  describeSchedule,
  PERIODIC_CREATED,
  PERIODIC_RETIMED,
  periodicScriptArgs,
  type PeriodicReply,
} from './task/periodic-call';
import { cronFires, periodicKey } from './task/schedule';
import { TaskRegistry } from './task.registry';

/**
 * @internal Puts the chain of every periodic task in place when a worker boots, in one atomic
 * script per task (schedule-periodic.lua): however many workers boot at once, the queue holds
 * one live run, and a definition that changed since the last boot (period, cron, zone) re-times
 * the chain exactly once. Each run schedules its successor when it settles.
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
    for (const name of this.registry.names()) {
      const { options } = this.registry.get(name)!;
      const schedule = options.schedule;
      if (!schedule) continue;
      // A cron's first slot follows Redis's clock, never this process's.
      const fires = 'cron' in schedule ? cronFires(schedule.cron, schedule.timezone, await this.redisNow()) : [];
      const [, generation, code] = await runScript<PeriodicReply>(
        this.connections.commands,
        'schedule-periodic',
        // A periodic chain lives in its key's partition: partition 0 under every count.
        ...periodicScriptArgs(this.layouts.partitionsOf(options.queue).forKey(periodicKey(name)), {
          mode: 'boot',
          name,
          queue: options.queue,
          schedule,
          fires,
        }),
      );
      if (code === PERIODIC_CREATED) this.logger.log(`Scheduled periodic task "${name}" (generation ${generation}).`);
      if (code === PERIODIC_RETIMED) {
        this.logger.log(
          `Re-timed periodic task "${name}" to ${describeSchedule(schedule)}: its definition changed (generation ${generation}).`,
        );
      }
    }
  }

  private async redisNow(): Promise<number> {
    const [seconds, micros] = await this.connections.commands.time();
    return Number(seconds) * 1_000 + Math.floor(Number(micros) / 1_000);
  }
}

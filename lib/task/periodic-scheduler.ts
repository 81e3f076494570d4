import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { PartitionLayouts } from '../partitions/partition-layout';
import { RedisConnections } from '../redis/redis-connections';
import type { StreamQueueConfig } from '../stream-queue.config';
import { MAX_TIMER_MS, STREAM_QUEUE_CONFIG } from '../stream-queue.constants';
import { schedulePeriodicScript, type SchedulePeriodicReply } from '../scripts/schedule-periodic.script';
import { describeSchedule, firstFires, redisTimeMs, type Schedule } from './periodic-call';
import { periodicKey } from './schedule';
import { TaskRegistry } from './task.registry';

/**
 * @internal How many sweep intervals apart a worker checks that its chains still exist (60 s by
 * default): the bound on how long a chain whose keys were lost without a reconnect stays gone.
 */
export const RESTORE_EVERY_SWEEPS = 30;

/**
 * @internal Puts the chain of every periodic task in place when a worker boots, in one atomic
 * script per task (schedule-periodic.lua): however many workers boot at once, the queue holds
 * one live run, and a definition that changed since the last boot (period, cron, zone) re-times
 * the chain exactly once. Each run schedules its successor when it settles. A chain stopped by
 * cancel() is not live, so a boot puts it back: the code's definition says the task runs.
 *
 * A running worker puts back a chain whose keys were lost (Redis restarted empty, someone
 * deleted them), in the same script's 'restore' mode, which writes only when the chain is gone,
 * so workers restoring at once make one chain: at once when its command connection is ready
 * again after a reconnect (a restart always cuts it), and every RESTORE_EVERY_SWEEPS sweep
 * intervals for keys lost without one (FLUSHDB, DEL).
 */
@Injectable()
export class PeriodicScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('StreamQueue');
  /** This worker's boot, in Redis's clock: what a restore stamps (see schedule-periodic.lua). */
  private bootedAt = 0;
  private restoring = false;
  private restoreAgain = false;
  private stopWatching: (() => void) | undefined;

  constructor(
    @Inject(STREAM_QUEUE_CONFIG) private readonly config: StreamQueueConfig,
    private readonly connections: RedisConnections,
    private readonly registry: TaskRegistry,
    private readonly layouts: PartitionLayouts,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // init() again after a failed one: the watch the first set up goes, or it restored twice.
    this.onModuleDestroy();
    if (!this.config.worker) return;
    const periodic = this.periodicTasks();
    if (periodic.length === 0) return;
    try {
      this.bootedAt = await redisTimeMs(this.connections.commands);
      for (const task of periodic) {
        const { generation, outcome } = await this.put(task, 'boot');
        if (outcome === 'created')
          this.logger.log(`Scheduled periodic task "${task.name}" (generation ${generation}).`);
        if (outcome === 'retimed') {
          this.logger.log(
            `Re-timed periodic task "${task.name}" to ${describeSchedule(task.schedule)}: its definition changed (generation ${generation}).`,
          );
        }
      }
    } catch (error) {
      // Nest runs no teardown hook after a failed bootstrap: the connections stop, as after a
      // failed module init, or the process cannot exit. init() again reconnects them.
      this.connections.suspend(error);
      throw error;
    }
    this.watch();
  }

  onModuleDestroy(): void {
    this.stopWatching?.();
    this.stopWatching = undefined;
  }

  private watch(): void {
    const redis = this.connections.commands;
    const restore = () => void this.restoreAll();
    // Registered after the boot's own 'ready': each one from now on follows a reconnect.
    redis.on('ready', restore);
    // Past MAX_TIMER_MS, Node would fire it every millisecond.
    const timer = setInterval(restore, Math.min(this.config.sweepIntervalMs * RESTORE_EVERY_SWEEPS, MAX_TIMER_MS));
    timer.unref();
    this.stopWatching = () => {
      redis.off('ready', restore);
      clearInterval(timer);
    };
  }

  /**
   * Restores every chain this worker defines, one pass at a time: a trigger during a pass (a
   * reconnect while the timer's pass waited for Redis) runs one more pass after it.
   */
  private async restoreAll(): Promise<void> {
    if (this.restoring) {
      this.restoreAgain = true;
      return;
    }
    this.restoring = true;
    try {
      do {
        this.restoreAgain = false;
        for (const task of this.periodicTasks()) {
          if (!this.stopWatching) return;
          try {
            const id = randomUUID();
            const { generation, outcome, id: run } = await this.put(task, 'restore', id);
            // A call resent after its reply was lost finds the run its first execution put in
            // place, and leaves it alone: that run has the id this call drew.
            if (outcome === 'created' || run === id) {
              this.logger.warn(
                `Restored periodic task "${task.name}": its chain was gone from Redis (generation ${generation}).`,
              );
            }
          } catch (error) {
            if (!this.connections.isClosed) {
              this.logger.warn(`Could not check periodic task "${task.name}": ${(error as Error).message}`);
            }
          }
        }
      } while (this.restoreAgain && this.stopWatching);
    } finally {
      this.restoring = false;
    }
  }

  private periodicTasks(): { name: string; queue: string; schedule: Schedule }[] {
    return this.registry.names().flatMap((name) => {
      const { schedule, queue } = this.registry.get(name)!.options;
      return schedule ? [{ name, queue, schedule }] : [];
    });
  }

  private async put(
    task: { name: string; queue: string; schedule: Schedule },
    mode: 'boot' | 'restore',
    id?: string,
  ): Promise<SchedulePeriodicReply> {
    const redis = this.connections.commands;
    const { name, queue, schedule } = task;
    // A periodic chain lives in its key's partition: partition 0 under every count.
    const keys = this.layouts.partitionsOf(queue).forKey(periodicKey(name));
    const fires = await firstFires(redis, schedule, periodicKey(name));
    const call =
      mode === 'boot'
        ? { mode, name, queue, schedule, fires }
        : { mode, name, queue, schedule, fires, bootedAt: this.bootedAt };
    return schedulePeriodicScript(keys, call, id).run(redis);
  }
}

import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { enqueueScriptArgs, type EnqueueReply } from './client/enqueue-call';
import { QueueKeys } from './redis/keys';
import { RedisConnections } from './redis/redis-connections';
import { runScript } from './redis/scripts';
import type { StreamQueueConfig } from './stream-queue.config';
import { STREAM_QUEUE_CONFIG } from './stream-queue.constants';
import { nextCronTime, periodicKey } from './task/schedule';
import { TaskRegistry } from './task.registry';

/**
 * @internal Puts the first run of every periodic task in place when a worker boots. The
 * enqueue is keyed (`periodic:<name>`) in 'add' mode, so however many workers boot at once the
 * queue holds one live run; each run schedules its successor when it settles.
 */
@Injectable()
export class PeriodicScheduler implements OnApplicationBootstrap {
  private readonly logger = new Logger('StreamQueue');

  constructor(
    @Inject(STREAM_QUEUE_CONFIG) private readonly config: StreamQueueConfig,
    private readonly connections: RedisConnections,
    private readonly registry: TaskRegistry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.worker) return;
    for (const name of this.registry.names()) {
      const { options } = this.registry.get(name)!;
      const schedule = options.schedule;
      if (!schedule) continue;
      const keys = new QueueKeys(this.config.prefix, options.queue);
      const every = 'every' in schedule ? schedule.every : 0;
      const [, generation, created] = await runScript<EnqueueReply>(
        this.connections.commands,
        'enqueue',
        ...enqueueScriptArgs(keys, {
          name,
          queue: options.queue,
          key: periodicKey(name),
          payload: 'null',
          delayMs: every,
          runAt: 'cron' in schedule ? nextCronTime(schedule.cron, schedule.timezone, Date.now()) : 0,
          mode: 'add',
          everyMs: every,
          periodic: true,
        }),
      );
      if (created === 1) this.logger.log(`Scheduled periodic task "${name}" (generation ${generation}).`);
    }
  }
}

import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { StreamQueueEvents } from 'nest-stream-queue';

// #region events
@Injectable()
export class TaskMonitor implements OnApplicationBootstrap {
  private readonly logger = new Logger('tasks');

  constructor(private readonly events: StreamQueueEvents) {}

  onApplicationBootstrap() {
    // @OnWorkerEvent('completed' | 'failed'): this process's runs only, as with a Worker's events
    this.events.on('completed', (e) => this.logger.log(`${e.name} ${e.taskId} completed`));
    // 'failed' fires on every failed attempt, as BullMQ's does; then 'retry-scheduled' or 'dead-lettered'
    this.events.on('failed', (e) => this.logger.warn(`${e.name} ${e.taskId} failed: ${e.detail}`));
    this.events.on('dead-lettered', (e) => this.logger.error(`${e.name} ${e.taskId} dead-lettered: ${e.detail}`));
    // no BullMQ equivalent: a late run whose settle Redis refused (another worker owns it)
    this.events.on('completion-refused', (e) => this.logger.warn(`fenced: ${e.taskId} ${e.detail}`));
  }

  snapshot() {
    return this.events.counters(); // { completed, failed, 'retry-scheduled', 'dead-lettered', ... }
  }
}
// #endregion

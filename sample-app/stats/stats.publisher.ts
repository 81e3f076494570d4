import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { StreamQueueEvents } from 'nest-stream-queue';
import { SAMPLE_CONFIG, type SampleConfig } from '../sample.config';
import { processName } from './process-name';
import { StatsStore } from './stats.store';

const PUBLISH_EVERY_MS = 1_000;

/** Consumer roles only: publishes this worker's counters every second until shutdown. */
@Injectable()
export class StatsPublisher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('StatsPublisher');
  private readonly name: string;
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(SAMPLE_CONFIG) config: SampleConfig,
    private readonly events: StreamQueueEvents,
    private readonly store: StatsStore,
  ) {
    this.name = processName(config.role);
  }

  onApplicationBootstrap(): void {
    const publish = () => this.store.publish(this.name, this.events.counters()).catch(() => undefined);
    void publish();
    this.timer = setInterval(publish, PUBLISH_EVERY_MS);
  }

  /** After the drain (onModuleDestroy), before connections close: leave GET /stats with final totals. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.logger.log(`final counters: ${JSON.stringify(this.events.counters())}`);
    await this.store.remove(this.name).catch(() => undefined);
  }
}

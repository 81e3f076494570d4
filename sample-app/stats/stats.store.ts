import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { StreamQueueCounter } from 'nest-stream-queue';
import { SAMPLE_CONFIG, type SampleConfig } from '../sample.config';

export type Counters = Record<StreamQueueCounter, number>;

/** A published snapshot outlives its worker by this long, so a crashed worker drops out. */
const SNAPSHOT_TTL_MS = 5_000;

/**
 * StreamQueueEvents counts what happens in one process, so each worker publishes its counters
 * here and the API process, which consumes nothing itself, reads them back for GET /stats.
 */
@Injectable()
export class StatsStore implements OnApplicationShutdown {
  private readonly logger = new Logger('StatsStore');
  private readonly redis: Redis;
  private readonly pattern: string;
  private failing = false;

  constructor(@Inject(SAMPLE_CONFIG) config: SampleConfig) {
    this.redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
    this.pattern = `sample-stats:${config.prefix}:`;
    this.redis.on('error', (error: Error) => {
      if (!this.failing) this.logger.warn(`stats connection: ${error.message}`);
      this.failing = true;
    });
    this.redis.on('ready', () => (this.failing = false));
  }

  async publish(worker: string, counters: Counters): Promise<void> {
    await this.redis.set(this.pattern + worker, JSON.stringify(counters), 'PX', SNAPSHOT_TTL_MS);
  }

  async remove(worker: string): Promise<void> {
    await this.redis.del(this.pattern + worker);
  }

  /** Latest snapshot of every live worker, by name. */
  async readAll(): Promise<Record<string, Counters>> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', `${this.pattern}*`, 'COUNT', 100);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    if (keys.length === 0) return {};
    const values = await this.redis.mget(...keys.sort());
    const all: Record<string, Counters> = {};
    keys.forEach((key, i) => {
      if (values[i] !== null) all[key.slice(this.pattern.length)] = JSON.parse(values[i]!) as Counters;
    });
    return all;
  }

  async onApplicationShutdown(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}

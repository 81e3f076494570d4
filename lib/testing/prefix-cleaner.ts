import { type BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { RedisConnections } from '../redis/redis-connections';
import { cleanupPrefix } from './test-prefix';

/** The prefix a StreamQueueTestingModule gave its StreamQueueModule (an injection token). @publicApi */
export const TESTING_PREFIX = 'STREAM_QUEUE:TESTING_PREFIX';

/**
 * @internal Deletes the test prefix's keys when the app closes: in beforeApplicationShutdown,
 * after the consumer drained (onModuleDestroy) and before the module quits its connections
 * (onApplicationShutdown), so it can use the module's own connection.
 */
@Injectable()
export class PrefixCleaner implements BeforeApplicationShutdown {
  constructor(
    @Inject(TESTING_PREFIX) private readonly prefix: string,
    private readonly moduleRef: ModuleRef,
  ) {}

  async beforeApplicationShutdown(): Promise<void> {
    // Not exported by StreamQueueModule: looked up across modules, as drain() does.
    const redis = this.moduleRef.get(RedisConnections, { strict: false }).commands;
    try {
      await cleanupPrefix(redis, this.prefix);
    } catch (error) {
      new Logger('StreamQueueTesting').warn(`could not delete the keys of prefix ${this.prefix}: ${String(error)}`);
    }
  }
}

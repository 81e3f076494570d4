import { Global, Injectable, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { QueueClient, StreamQueueModule, Task } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { closeModule } from '../fixtures/close-module';
import { RecordingLogger } from '../fixtures/recording-logger';
import { cleanUpAfterSuite, testOptions } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * The README: the module is ready "before any application onModuleInit runs", and at
 * "onApplicationShutdown: the Redis connections close last, so providers can still enqueue
 * during their own hooks". Nest runs each hook module by module, by distance, and a global module
 * of the application (config, audit, database) shares StreamQueueModule's: listed before it, its
 * onModuleInit ran first, and an enqueue there found no registry yet (a task of queue "audit"
 * went to the "default" stream, where no consumer of "audit" looks), and its onApplicationShutdown
 * ran last, its enqueue refused with ApplicationClosedError. StreamQueueModule is now placed above
 * every other module (a review finding; the spec failed).
 */
const outcomes: string[] = [];

@Injectable()
class AuditTasks {
  @Task('audit.record', { queue: 'audit' })
  record(): void {}
}

@Injectable()
class ShutdownAudit implements OnModuleInit, OnApplicationShutdown {
  constructor(private readonly client: QueueClient) {}

  async onModuleInit(): Promise<void> {
    outcomes.push(
      await this.client.enqueue('audit.record', 1).then(
        () => 'enqueued at init',
        (error: Error) => error.name,
      ),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    outcomes.push(
      await this.client.enqueue('audit.record', 1).then(
        () => 'enqueued',
        (error: Error) => error.name,
      ),
    );
  }
}

@Global()
@Module({ providers: [ShutdownAudit, AuditTasks] })
class AuditModule {}

describe("attack: enqueues in a global module's onModuleInit and onApplicationShutdown", () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  cleanUpAfterSuite(prefix, redis);

  it.each([
    ['listed before StreamQueueModule', true],
    ['listed after it', false],
  ])('are written, each in its queue (%s)', async (_, auditFirst) => {
    outcomes.length = 0;
    const queueModule = StreamQueueModule.forRoot(testOptions(prefix, { worker: false }));
    const moduleRef = await Test.createTestingModule({
      imports: auditFirst ? [AuditModule, queueModule] : [queueModule, AuditModule],
    })
      .setLogger(new RecordingLogger())
      .compile();
    const audit = new QueueKeys(prefix, 'audit').stream;
    const before = await redis.xlen(audit);

    await moduleRef.init();
    await closeModule(moduleRef);

    expect(outcomes).toEqual(['enqueued at init', 'enqueued']);
    await expect(redis.xlen(audit)).resolves.toBe(before + 2);
  });
});

import { Global, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { QueueClient, Task } from 'nest-stream-queue';
import { StreamQueueTestingModule, TESTING_PREFIX } from 'nest-stream-queue/testing';
import { closeAll, createRedis, keysMatching } from '../utils/redis';
import { testConnection } from '../utils/redis';

/**
 * The README: StreamQueueTestingModule's keys are deleted by app.close(), and providers "can still
 * enqueue during their own hooks" (onApplicationShutdown: the connections close last). The keys
 * used to be deleted in beforeApplicationShutdown, before every onApplicationShutdown: what a
 * provider enqueued there (a delayed audit record, a reminder) stayed in Redis after the test.
 */
const enqueued: string[] = [];

@Injectable()
class AuditTasks {
  @Task('audit.record', { queue: 'audit' })
  record(): void {}
}

/** Enqueues a delayed task as the app shuts down, as an outbox flushed at shutdown would. */
@Injectable()
class ShutdownAudit implements OnApplicationShutdown {
  constructor(private readonly client: QueueClient) {}

  async onApplicationShutdown(): Promise<void> {
    await this.client.enqueue('audit.record', 'at shutdown', { delayMs: 60_000 });
    enqueued.push('at shutdown');
  }
}

@Module({ providers: [AuditTasks, ShutdownAudit] })
class AuditModule {}

@Global()
@Module({ providers: [AuditTasks, ShutdownAudit] })
class GlobalAuditModule {}

describe('StreamQueueTestingModule and writes in onApplicationShutdown', () => {
  const redis = createRedis();
  afterAll(closeAll);
  beforeEach(() => (enqueued.length = 0));

  it.each([
    ['a module of the application', (testing: unknown) => [testing, AuditModule]],
    ['a global module listed before it', (testing: unknown) => [GlobalAuditModule, testing]],
  ])('app.close() deletes what %s enqueued in its onApplicationShutdown', async (_, imports) => {
    const app = await Test.createTestingModule({
      imports: imports(StreamQueueTestingModule.forRoot({ connection: testConnection() })) as never[],
    }).compile();
    await app.init();
    const prefix = app.get<string>(TESTING_PREFIX);

    await app.close();

    expect(enqueued).toEqual(['at shutdown']); // the enqueue went through
    await expect(keysMatching(redis, `{${prefix}:*`)).resolves.toEqual([]);
  });
});

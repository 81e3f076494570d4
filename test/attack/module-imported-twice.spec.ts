import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { StreamQueueModule, Task } from '../../lib';
import { closeModule } from '../fixtures/close-module';
import { RecordingLogger } from '../fixtures/recording-logger';
import { testOptions } from '../fixtures/test-app';
import { closeAll, randomPrefix } from '../utils/redis';

/**
 * StreamQueueModule.forRoot() imported by two feature modules (as a forFeature-minded user
 * would) makes two instances: ConfigurableModuleBuilder gives each call an id of its own, so Nest
 * never merges them, even with equal options. Each discovers every @Task() of the application and
 * consumes its queues: the process ran two consumers per queue (twice `concurrency`), and which
 * instance's QueueClient a provider got depended on import order. Nothing said so. Bootstrap now
 * warns once, naming the importing modules (a review finding; the spec failed).
 */
@Injectable()
class InvoiceTasks {
  @Task('invoice.send')
  send(): void {}
}

const prefix = randomPrefix();
const queueModule = (): DynamicModule => StreamQueueModule.forRoot(testOptions(prefix, { worker: false }));

@Module({ imports: [queueModule()], providers: [InvoiceTasks] })
class InvoicesModule {}

@Module({ imports: [queueModule()] })
class OrdersModule {}

describe('attack: StreamQueueModule imported by two modules', () => {
  const logger = new RecordingLogger();
  afterAll(closeAll);
  beforeEach(() => {
    logger.lines.length = 0;
  });

  async function boot(imports: (DynamicModule | typeof InvoicesModule)[]): Promise<void> {
    const moduleRef = await Test.createTestingModule({ imports }).setLogger(logger).compile();
    try {
      await moduleRef.init();
    } finally {
      await closeModule(moduleRef);
    }
  }

  it('warns once at bootstrap, naming both importing modules', async () => {
    await boot([InvoicesModule, OrdersModule]);

    const warnings = logger.warnings().filter((w) => /imported/.test(w));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/StreamQueueModule is imported 2 times \(by InvoicesModule, OrdersModule\)/);
  });

  it('says nothing when it is imported once', async () => {
    await boot([queueModule(), { module: class OneModule {}, providers: [InvoiceTasks] }]);

    expect(logger.warnings()).toEqual([]);
  });
});

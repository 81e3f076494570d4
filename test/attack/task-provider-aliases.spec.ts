import { Injectable, type Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DuplicateTaskError, StreamQueueModule, Task } from '../../lib';
import { TaskRegistry } from '../../lib/task/task.registry';
import { bootstrapError, closeModule } from '../fixtures/close-module';
import { RecordingLogger } from '../fixtures/recording-logger';
import { testOptions } from '../fixtures/test-app';
import { closeAll, randomPrefix } from '../utils/redis';

/**
 * One provider instance reachable under a second token without useExisting (a factory handing
 * back the injected instance, or one object given as useValue twice) failed bootstrap with
 * "Task "billing.charge" is declared twice: BillingTasks.charge in RootTestModule and
 * BillingTasks.charge in RootTestModule": one handler, seen once per token, was taken for two.
 * Discovery now explores each instance once (a review finding; the spec failed).
 */
@Injectable()
class BillingTasks {
  @Task('billing.charge')
  charge(): string {
    return 'charged';
  }
}

describe('attack: one task instance under two tokens', () => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const m of open.splice(0)) await m.close();
  });
  afterAll(closeAll);

  async function registryOf(providers: Provider[]): Promise<TaskRegistry> {
    const moduleRef = await Test.createTestingModule({
      imports: [StreamQueueModule.forRoot(testOptions(randomPrefix(), { worker: false }))],
      providers,
    })
      .setLogger(new RecordingLogger())
      .compile();
    open.push({ close: () => closeModule(moduleRef) });
    await moduleRef.init();
    return moduleRef.get(TaskRegistry);
  }

  it('registers a factory alias of the instance once', async () => {
    const registry = await registryOf([
      BillingTasks,
      { provide: 'BILLING', useFactory: (tasks: BillingTasks) => tasks, inject: [BillingTasks] },
    ]);
    expect(registry.names()).toEqual(['billing.charge']);
  });

  it('registers one value given under two tokens once', async () => {
    const tasks = new BillingTasks();
    const registry = await registryOf([
      { provide: BillingTasks, useValue: tasks },
      { provide: 'BILLING', useValue: tasks },
    ]);
    expect(registry.names()).toEqual(['billing.charge']);
    expect(registry.get('billing.charge')!.handler(undefined, {})).toBe('charged');
  });
});

/**
 * The real duplicate, one class provided twice in one module (under its class and, through
 * useClass, under a second token): the error named "BillingTasks.charge in RootTestModule" twice,
 * nothing telling the two apart. It now names each provider's token (a review finding; the spec
 * failed).
 */
describe('attack: one task class under two tokens of one module', () => {
  afterAll(closeAll);

  it('fails bootstrap naming both tokens', async () => {
    const error = await bootstrapError({
      imports: [StreamQueueModule.forRoot(testOptions(randomPrefix(), { worker: false }))],
      providers: [BillingTasks, { provide: 'BILLING', useClass: BillingTasks }],
    });
    expect(error).toBeInstanceOf(DuplicateTaskError);
    expect((error as Error).message).toMatch(
      /BillingTasks\.charge \(provider BillingTasks\) in RootTestModule and BillingTasks\.charge \(provider 'BILLING'\) in RootTestModule/,
    );
  });
});

import type { DynamicModule } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { DuplicateTaskError, StreamQueueModule } from '../../lib';
import { TaskRegistry } from '../../lib/task/task.registry';
import { closeModule } from '../fixtures/close-module';
import { ExplorerFixtures } from '../fixtures/explorer.fixtures';
import { RecordingLogger } from '../fixtures/recording-logger';
import { testOptions } from '../fixtures/test-app';
import { randomPrefix } from '../utils/redis';

// Discovery through a real Nest container. worker:false: the module connects to the suite Redis
// (its connections are built eagerly) but nothing consumes, so no key is ever written.
describe('TaskExplorer + TaskRegistry', () => {
  const logger = new RecordingLogger();
  let moduleRef: TestingModule | undefined;

  async function boot(fixture: DynamicModule): Promise<TestingModule> {
    moduleRef = await Test.createTestingModule({
      imports: [StreamQueueModule.forRoot(testOptions(randomPrefix(), { worker: false })), fixture],
    })
      .setLogger(logger)
      .compile();
    return moduleRef.init();
  }

  afterEach(async () => {
    if (moduleRef) await closeModule(moduleRef);
    moduleRef = undefined;
    logger.lines.length = 0;
  });

  it('registers each @Task() method under its name with resolved options', async () => {
    const registry = (await boot(ExplorerFixtures.greeting())).get(TaskRegistry);

    expect(registry.names()).toEqual(['greet']);
    expect(registry.queues()).toEqual(['greetings']);
    expect(registry.get('greet')).toMatchObject({
      location: 'GreetingTasks.greet',
      options: { queue: 'greetings', maxAttempts: 5 },
    });
    expect(registry.get('notATask')).toBeUndefined();
  });

  it('keeps handlers bound to their provider, with its injected dependencies', async () => {
    const registry = (await boot(ExplorerFixtures.greeting())).get(TaskRegistry);
    const { handler } = registry.get('greet')!;

    expect(handler({ name: 'Ada' }, {})).toBe('hello, Ada');
  });

  it('fails bootstrap on a duplicate task name, naming both Class.method locations', async () => {
    const booting = boot(ExplorerFixtures.duplicateNames());

    await expect(booting).rejects.toThrow(DuplicateTaskError);
    await expect(booting).rejects.toThrow(/"report".*FirstReport\.build.*SecondReport\.render/);
  });

  it('skips a request-scoped provider with a warning naming it, and registers the rest', async () => {
    const registry = (await boot(ExplorerFixtures.requestScoped())).get(TaskRegistry);

    expect(registry.names()).toEqual(['greet']);
    expect(logger.warnings().some((w) => /PerRequestTasks\.run.*request-scoped/.test(w))).toBe(true);
  });
});

describe('TaskRegistry', () => {
  const definition = (name: string, location: string, queue = 'default') =>
    ({ name, location, handler: () => undefined, options: { queue } }) as never;

  it('rejects a second definition of a name, keeping the first', () => {
    const registry = new TaskRegistry();
    registry.add(definition('a', 'A.run'));
    expect(() => registry.add(definition('a', 'B.run'))).toThrow(/"a" is declared twice: A\.run and B\.run/);
    expect(registry.get('a')).toMatchObject({ location: 'A.run' });
    expect(registry.size).toBe(1);
  });

  it('lists each queue with a handler once', () => {
    const registry = new TaskRegistry();
    registry.add(definition('a', 'A.a', 'mail'));
    registry.add(definition('b', 'A.b', 'mail'));
    registry.add(definition('c', 'A.c', 'sms'));
    expect(registry.queues()).toEqual(['mail', 'sms']);
  });
});

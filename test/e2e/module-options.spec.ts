import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { InvalidOptionError, QueueClient, StreamQueueModule, type StreamQueueModuleOptions } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { BadTaskModule } from '../fixtures/bad-task.fixtures';
import { closeModule } from '../fixtures/close-module';
import { Probe } from '../fixtures/probe';
import { ProbeModule } from '../fixtures/probe.module';
import { QUEUE_SETTINGS, SettingsModule } from '../fixtures/settings.module';
import { closeApps, logger, startApp, testOptions } from '../fixtures/test-app';
import { useSpecRedis } from '../utils/helpers';

/** An options class for useClass / useExisting: Nest's builder calls its create(). */
function settingsFactory(prefix: string): new () => { create(): Promise<StreamQueueModuleOptions> } {
  @Injectable()
  class QueueSettings {
    create(): Promise<StreamQueueModuleOptions> {
      return Promise.resolve(testOptions(prefix));
    }
  }
  return QueueSettings;
}

// How the module is configured: forRootAsync, and validation that fails bootstrap early.
describe('StreamQueueModule options', () => {
  const { prefix, redis } = useSpecRedis();
  afterEach(closeApps);

  it('forRootAsync builds the options with useFactory from an imported, injected provider', async () => {
    const probe = new Probe();
    const moduleRef = await Test.createTestingModule({
      imports: [
        StreamQueueModule.forRootAsync({
          imports: [SettingsModule.register(prefix)],
          inject: [QUEUE_SETTINGS],
          useFactory: (settings: StreamQueueModuleOptions) => settings,
        }),
        ProbeModule.register(probe),
      ],
    })
      .setLogger(logger)
      .compile();
    try {
      await moduleRef.init();
      const handle = await moduleRef.get(QueueClient).enqueue('echo', 'configured');

      await expect(handle.result()).resolves.toBe('configured');
      // The factory's prefix was used: the result lives under it, not under the default `sq`.
      await expect(redis.exists(new QueueKeys(prefix, 'default').result(handle.id))).resolves.toBe(1);
      expect(probe.runs).toHaveLength(1);
    } finally {
      await closeModule(moduleRef);
    }
  });

  // The README: the class of useClass / useExisting has a create() method (Nest's builder calls it).
  it.each([
    ['useClass', (prefix: string) => ({ useClass: settingsFactory(prefix) })],
    [
      'useExisting',
      (prefix: string) => {
        const factory = settingsFactory(prefix);
        const factoryModule = { module: class FactoryModule {}, providers: [factory], exports: [factory] };
        return { imports: [factoryModule], useExisting: factory };
      },
    ],
  ])('forRootAsync builds the options with %s, calling its create()', async (_, asyncOptions) => {
    const moduleRef = await Test.createTestingModule({
      imports: [StreamQueueModule.forRootAsync(asyncOptions(prefix)), ProbeModule.register(new Probe())],
    })
      .setLogger(logger)
      .compile();
    try {
      await moduleRef.init();
      const handle = await moduleRef.get(QueueClient).enqueue('echo', 'from a class');

      await expect(handle.result()).resolves.toBe('from a class');
      await expect(redis.exists(new QueueKeys(prefix, 'default').result(handle.id))).resolves.toBe(1);
    } finally {
      await closeModule(moduleRef);
    }
  });

  it('fails bootstrap with an InvalidOptionError naming an invalid module option', async () => {
    const booting = startApp({ prefix, options: { concurrency: 0 } });

    await expect(booting).rejects.toThrow(InvalidOptionError);
    await expect(booting).rejects.toThrow(/"concurrency"/);
  });

  it('fails bootstrap the same way when the async factory returns an invalid option', async () => {
    const booting = Test.createTestingModule({
      imports: [
        StreamQueueModule.forRootAsync({
          useFactory: () => testOptions(prefix, { leaseMs: 600, heartbeatIntervalMs: 500 }),
        }),
      ],
    })
      .setLogger(logger)
      .compile();

    await expect(booting).rejects.toThrow(/"heartbeatIntervalMs".*third of leaseMs/);
  });

  it('fails bootstrap naming the task and option when a @Task() option is invalid', async () => {
    const booting = startApp({ prefix, imports: [BadTaskModule.register()] });

    await expect(booting).rejects.toMatchObject({ option: "@Task('bad-attempts').maxAttempts" });
  });
});

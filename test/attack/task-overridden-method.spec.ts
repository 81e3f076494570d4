import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { StreamQueueModule, Task } from '../../lib';
import { TaskRegistry } from '../../lib/task/task.registry';
import { closeModule } from '../fixtures/close-module';
import { RecordingLogger } from '../fixtures/recording-logger';
import { testOptions } from '../fixtures/test-app';
import { closeAll, randomPrefix } from '../utils/redis';

/**
 * A @Task() method of a base class, overridden in the provider's class without @Task(): as for
 * Nest's own route and message decorators, the metadata sits on the base's function, which the
 * provider no longer exposes, so the task has no handler. Nothing said so: the task was simply
 * not there, its runs failing as unknown. Bootstrap now warns, naming the task, the override and
 * the method it hides (a review finding; the spec failed). Inheriting without overriding, and an
 * override that repeats @Task(), register the task.
 */
abstract class SyncJob {
  @Task('sync.run')
  run(): string {
    return 'base';
  }
}

@Injectable()
class CustomSync extends SyncJob {
  override run(): string {
    return 'override';
  }
}

@Injectable()
class PlainSync extends SyncJob {}

abstract class ReportJob {
  @Task('report.run')
  run(): string {
    return 'base';
  }
}

@Injectable()
class CustomReport extends ReportJob {
  @Task('report.custom')
  override run(): string {
    return 'override';
  }
}

/**
 * The same override made with an accessor (a getter handing back a bound method, a setter): Nest's
 * getAllMethodNames skips accessors, and skips the base's method of that name with them, so
 * discovery never saw the name and the warning above never came: the task was hidden in silence
 * (a review finding; the spec failed). It warns as for a method; an accessor cannot carry @Task()
 * (the decorator refuses one), so the warning says to make it a method.
 */
@Injectable()
class GetterSync extends SyncJob {
  // @ts-expect-error an accessor overriding a method, as plain JavaScript (or a cast) can write it
  override get run(): () => string {
    return () => 'getter';
  }
}

@Injectable()
class SetterSync extends SyncJob {
  // @ts-expect-error as above, a setter alone
  override set run(_value: () => string) {}
}

/** And with a prototype value that is no function (which getAllMethodNames skips too). */
@Injectable()
class ValueSync extends SyncJob {}
Object.defineProperty(ValueSync.prototype, 'run', { value: 'not a method' });

describe('attack: a @Task() method overridden without @Task()', () => {
  const logger = new RecordingLogger();
  afterAll(closeAll);

  async function registryOf(provider: new () => object): Promise<TaskRegistry> {
    const moduleRef = await Test.createTestingModule({
      imports: [StreamQueueModule.forRoot(testOptions(randomPrefix(), { worker: false }))],
      providers: [provider],
    })
      .setLogger(logger)
      .compile();
    try {
      await moduleRef.init();
      return moduleRef.get(TaskRegistry);
    } finally {
      await closeModule(moduleRef);
    }
  }

  beforeEach(() => {
    logger.lines.length = 0;
  });

  it('warns at bootstrap, naming the task, the override and the method it hides', async () => {
    const registry = await registryOf(CustomSync);

    expect(registry.names()).toEqual([]);
    expect(logger.warnings()).toEqual([
      expect.stringMatching(/CustomSync\.run overrides SyncJob\.run without its @Task\('sync\.run'\)/),
    ]);
  });

  it('warns for a non-function override, naming the class, the value and the task', async () => {
    const registry = await registryOf(ValueSync);

    expect(registry.names()).toEqual([]);
    expect(logger.warnings()).toEqual([
      expect.stringMatching(/ValueSync\.run overrides SyncJob\.run with a value that is no method, which hides/),
    ]);
  });

  it('warns for an accessor override (getter or setter), naming the class, the accessor and the task', async () => {
    for (const [provider, className] of [
      [GetterSync, 'GetterSync'],
      [SetterSync, 'SetterSync'],
    ] as const) {
      logger.lines.length = 0;
      const registry = await registryOf(provider);

      expect(registry.names()).toEqual([]);
      expect(logger.warnings()).toEqual([
        expect.stringMatching(
          new RegExp(
            `${className}\\.run overrides SyncJob\\.run with an accessor, which hides its @Task\\('sync\\.run'\\)`,
          ),
        ),
      ]);
    }
  });

  it('registers an inherited @Task() method, bound to the subclass instance', async () => {
    const registry = await registryOf(PlainSync);

    expect(registry.get('sync.run')).toMatchObject({ location: 'PlainSync.run' });
    expect(logger.warnings()).toEqual([]);
  });

  it("registers an override's own @Task(), without a warning", async () => {
    const registry = await registryOf(CustomReport);

    expect(registry.names()).toEqual(['report.custom']);
    expect(logger.warnings()).toEqual([]);
  });
});

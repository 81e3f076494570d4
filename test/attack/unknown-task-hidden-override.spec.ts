import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { QueueClient, StreamQueueModule, Task, UnknownTaskError } from '../../lib';
import { TaskRegistry } from '../../lib/task/task.registry';
import { closeModule } from '../fixtures/close-module';
import { RecordingLogger } from '../fixtures/recording-logger';
import { testOptions } from '../fixtures/test-app';
import { closeAll, randomPrefix } from '../utils/redis';

/**
 * A @Task() method hidden by a subclass's override (a method without @Task(), an accessor, a
 * value that is no function) is warned about at bootstrap (see task-overridden-method.spec.ts),
 * but the UnknownTaskError of an enqueue of its name, and the dead letter of a run of it (both
 * read registry.whyMissing), said only 'Unknown task "sync.run". Registered tasks: other.run.':
 * the one place a caller looks named no reason, while the handler was right there in the code (a
 * review finding; each case here failed so). They now name the override and the method it hides.
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
class GetterSync extends SyncJob {
  // @ts-expect-error an accessor overriding a method, as plain JavaScript (or a cast) can write it
  override get run(): () => string {
    return () => 'getter';
  }
}

@Injectable()
class ValueSync extends SyncJob {}
Object.defineProperty(ValueSync.prototype, 'run', { value: 'not a method' });

/** A task that is registered, so the process has handlers and refuses names it lacks. */
@Injectable()
class OtherTasks {
  @Task('other.run')
  run(): string {
    return 'other';
  }
}

describe('attack: an enqueue of a @Task() hidden by an override', () => {
  const opened: TestingModule[] = [];
  afterAll(async () => {
    for (const moduleRef of opened) await closeModule(moduleRef);
    await closeAll();
  });

  async function appWith(provider: new () => object): Promise<TestingModule> {
    const moduleRef = await Test.createTestingModule({
      imports: [StreamQueueModule.forRoot(testOptions(randomPrefix(), { worker: false }))],
      providers: [provider, OtherTasks],
    })
      .setLogger(new RecordingLogger())
      .compile();
    opened.push(moduleRef);
    await moduleRef.init();
    return moduleRef;
  }

  it.each([
    [CustomSync, /CustomSync\.run overrides SyncJob\.run without its @Task\('sync\.run'\)/],
    [GetterSync, /GetterSync\.run overrides SyncJob\.run with an accessor, which hides its @Task\('sync\.run'\)/],
    [ValueSync, /ValueSync\.run overrides SyncJob\.run with a value that is no method/],
  ])('%p: the UnknownTaskError names the override and the method it hides', async (provider, reason) => {
    const moduleRef = await appWith(provider);
    const enqueue = moduleRef.get(QueueClient).enqueue('sync.run', 1);

    await expect(enqueue).rejects.toThrow(UnknownTaskError);
    await expect(enqueue).rejects.toThrow(reason);
    await expect(enqueue).rejects.toThrow(/Registered tasks: other\.run\.$/);
    // What a worker's dead letter of a run of it says (task-runner.ts reads the same).
    expect(moduleRef.get(TaskRegistry).whyMissing('sync.run')).toMatch(reason);
  });

  it('names nothing for a name no @Task() declares', async () => {
    const moduleRef = await appWith(CustomSync);
    expect(moduleRef.get(TaskRegistry).whyMissing('nowhere.run')).toBeUndefined();
  });
});

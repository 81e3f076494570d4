import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DuplicateTaskError, StreamQueueModule, Task } from '../../lib';
import { closeModule } from '../fixtures/close-module';
import { RecordingLogger } from '../fixtures/recording-logger';
import { testOptions } from '../fixtures/test-app';
import { randomPrefix } from '../utils/redis';

/**
 * One task class listed in the providers of two modules (a common Nest slip) makes two
 * instances, two handlers of each name. Bootstrap failed with "declared twice: MailTasks.send and
 * MailTasks.send", naming one place twice and not the modules at fault. It now names each
 * module (a review finding; the spec failed).
 */
@Injectable()
class MailTasks {
  @Task('mail.send')
  send(): void {}
}

@Module({ providers: [MailTasks] })
class MailModule {}

@Module({ providers: [MailTasks] })
class OrdersModule {}

describe('attack: a task class provided by two modules', () => {
  it('fails bootstrap naming both modules', async () => {
    const booting = Test.createTestingModule({
      imports: [StreamQueueModule.forRoot(testOptions(randomPrefix(), { worker: false })), MailModule, OrdersModule],
    })
      .setLogger(new RecordingLogger())
      .compile()
      .then((moduleRef) => moduleRef.init().finally(() => closeModule(moduleRef)));
    const error = await booting.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DuplicateTaskError);
    expect((error as Error).message).toMatch(/MailTasks\.send in MailModule and MailTasks\.send in OrdersModule/);
  });
});

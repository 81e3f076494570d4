import { Injectable, Module } from '@nestjs/common';
import { DuplicateTaskError, StreamQueueModule, Task } from '../../lib';
import { bootstrapError } from '../fixtures/close-module';
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
    const error = await bootstrapError({
      imports: [StreamQueueModule.forRoot(testOptions(randomPrefix(), { worker: false })), MailModule, OrdersModule],
    });
    expect(error).toBeInstanceOf(DuplicateTaskError);
    expect((error as Error).message).toMatch(/MailTasks\.send in MailModule and MailTasks\.send in OrdersModule/);
  });
});

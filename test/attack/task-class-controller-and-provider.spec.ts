import { Controller, Module } from '@nestjs/common';
import { DuplicateTaskError, StreamQueueModule, Task } from '../../lib';
import { bootstrapError } from '../fixtures/close-module';
import { testOptions } from '../fixtures/test-app';
import { randomPrefix } from '../utils/redis';

/**
 * A class listed in a module's `controllers` and again in its `providers` (a common Nest slip)
 * makes two instances, so each of its tasks has two handlers. Bootstrap failed with "declared
 * twice: WebhookTasks.receive (provider WebhookTasks) in WebhooksModule and WebhookTasks.receive
 * (provider WebhookTasks) in WebhooksModule": one place named twice, nothing to fix. It now says
 * which is the controller (a review finding; the spec failed).
 */
@Controller('webhooks')
class WebhookTasks {
  @Task('webhook.receive')
  receive(): void {}
}

@Module({ controllers: [WebhookTasks], providers: [WebhookTasks] })
class WebhooksModule {}

describe('attack: a task class listed as a controller and as a provider of one module', () => {
  it('fails bootstrap telling the provider from the controller', async () => {
    const error = await bootstrapError({
      imports: [StreamQueueModule.forRoot(testOptions(randomPrefix(), { worker: false })), WebhooksModule],
    });
    expect(error).toBeInstanceOf(DuplicateTaskError);
    expect((error as Error).message).toMatch(
      /WebhookTasks\.receive \(provider WebhookTasks\) in WebhooksModule and WebhookTasks\.receive \(controller WebhookTasks\) in WebhooksModule/,
    );
  });
});

import { Injectable, Module, Scope } from '@nestjs/common';
import { Task } from '../../lib';
import { cleanUpAfterSuite, startApp } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * A @Task() on a transient provider ran on an object Nest never constructed: the static context
 * of a transient provider holds a bare Object.create(prototype) (each injecting provider gets its
 * own instance), and discovery bound the handler to it. The constructor never ran, so every
 * injected dependency was undefined and the task failed at run time ("Cannot read properties of
 * undefined"), with no word at bootstrap. The queue now resolves an instance of its own, as any
 * other consumer of a transient provider gets (a review finding; the spec failed).
 */
@Injectable()
class Greeter {
  greet(name: string): string {
    return `hello, ${name}`;
  }
}

@Injectable({ scope: Scope.TRANSIENT })
class TransientTasks {
  readonly constructed: boolean;

  constructor(private readonly greeter: Greeter) {
    this.constructed = true;
  }

  @Task('transient.greet', { queue: 'greetings' })
  greet(payload: { name: string }): { greeting: string; constructed: boolean } {
    return { greeting: this.greeter.greet(payload.name), constructed: this.constructed };
  }
}

@Module({ providers: [Greeter, TransientTasks] })
class TransientModule {}

describe('attack: @Task() on a transient provider', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  cleanUpAfterSuite(prefix, redis);

  // On a queue of its own: the queue is consumed (and its layout adopted) though discovery ends late.
  it('runs on a constructed instance, with its dependencies injected', async () => {
    const { client } = await startApp({ prefix, imports: [TransientModule] });

    const handle = await client.enqueue('transient.greet', { name: 'Ada' });

    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toEqual({ greeting: 'hello, Ada', constructed: true });
  });
});

import { Injectable, Module } from '@nestjs/common';
import { Task } from '../../lib';
import { TaskRegistry } from '../../lib/task/task.registry';
import { cleanUpAfterSuite, startApp } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * A provider that binds its methods in its constructor (`this.send = this.send.bind(this)`, as
 * lodash's bindAll or an autobind helper does) lost its tasks without a word: discovery found
 * @Task() on the prototype's method, then read the instance's own property, a bound copy that
 * carries no metadata, and skipped it. The task had no handler. Each such method is now
 * registered, calling the instance's own function (a review finding; the spec failed).
 */
@Injectable()
class BoundTasks {
  private readonly greeting = 'hello';

  constructor() {
    this.greet = this.greet.bind(this);
  }

  @Task('bound.greet')
  greet(payload: { name: string }): string {
    return `${this.greeting}, ${payload.name}`;
  }
}

@Module({ providers: [BoundTasks] })
class BoundModule {}

describe('attack: a @Task() method bound in the constructor', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  cleanUpAfterSuite(prefix, redis);

  it('is registered and runs with the provider as this', async () => {
    const { app, client } = await startApp({ prefix, imports: [BoundModule] });
    expect(app.get(TaskRegistry).get('bound.greet')).toMatchObject({ location: 'BoundTasks.greet' });

    const handle = await client.enqueue('bound.greet', { name: 'Ada' });

    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('hello, Ada');
  });
});

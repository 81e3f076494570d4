import { Injectable, Module } from '@nestjs/common';
import { ApplicationNotReadyError, QueueClient, Task } from '../../lib';
import { buildApp, closeHostileApps, rejectionOf, within } from '../fixtures/hostile-tasks';
import { testOptions } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

@Injectable()
class MailTasks {
  readonly sent: unknown[] = [];

  @Task('mail', { queue: 'emails' })
  mail(payload: unknown): unknown {
    this.sent.push(payload);
    return payload;
  }
}

@Module({ providers: [MailTasks] })
class MailModule {}

/*
 * Attack: a QueueClient call made before app.init() (a provider's async factory, code between
 * NestFactory.create() and listen()) found the registry empty and read it as a producer's:
 * enqueue('mail') went to the `default` queue, without the task's options, while its handler
 * reads `emails`. Nothing read `default`: the task never ran. Such a call is refused now,
 * nothing written.
 */
describe('attack: a task named before app.init()', () => {
  const redis = createRedis();
  const prefix = randomPrefix();
  afterEach(async () => {
    await closeHostileApps();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  it('is refused with ApplicationNotReadyError, nothing written; after init it runs on its queue', async () => {
    const app = await buildApp(testOptions(prefix), { imports: [MailModule] });
    const client = app.moduleRef.get(QueueClient);
    for (const call of [
      () => client.enqueue('mail', 'early'),
      () => client.replace('mail', 'early', { key: 'k' }),
      () => client.enqueueMany([{ name: 'mail', payload: 'early' }]),
      () => client.schedule('mail', 'early', { key: 'k', every: '1h' }),
    ]) {
      const refused = await rejectionOf(call(), 5_000, 'a call before init');
      expect(refused).toBeInstanceOf(ApplicationNotReadyError);
      expect(refused.message).toContain('"mail"');
    }
    await within(app.init(), 10_000, 'init');
    expect(await redis.keys(`*${prefix}:default*`)).toEqual([]);

    const handle = await client.enqueue('mail', 'after');
    expect(handle.queue).toBe('emails');
    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('after');
    expect(app.moduleRef.get(MailTasks).sent).toEqual(['after']);
  });
});

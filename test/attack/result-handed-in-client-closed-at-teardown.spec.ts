import { Module, type OnModuleDestroy } from '@nestjs/common';
import { Redis } from 'ioredis';
import { ApplicationClosedError, QueueClient, type TaskHandle } from '../../lib';
import { buildApp, closeHostileApps } from '../fixtures/hostile-tasks';
import { testOptions } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, redisUrl, subscriberCount, waitFor } from '../utils/redis';

/*
 * Attack on "a wait still waiting at app.close() rejects with ApplicationClosedError": an
 * application that hands its own ioredis client in as `connection` closes it in its own teardown
 * hook (a provider's onModuleDestroy quits it), which Nest runs before StreamQueueModule's
 * onApplicationShutdown (the module is placed last at teardown). The client's 'end' then ended the
 * waits first, with RedisUnreachableError: "Redis could not be reached", of an application that
 * was only closing.
 */
describe('result(): a client handed in, closed by the application in its own teardown', () => {
  const redis = createRedis();
  const prefix = randomPrefix();
  afterEach(async () => {
    await closeHostileApps();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  it('rejects the waits in progress with ApplicationClosedError', async () => {
    const client = new Redis(redisUrl());
    let askedAfterQuit: Promise<unknown> | undefined;
    @Module({})
    class ClosesItsClientModule implements OnModuleDestroy {
      async onModuleDestroy(): Promise<void> {
        await client.quit();
        await waitFor(() => client.status === 'end', { description: 'the client ended' });
        // Asked during the same teardown, after the quit: it says the same.
        askedAfterQuit = handle.result({ timeoutMs: Infinity }).catch((error: unknown) => error);
      }
    }
    let handle!: TaskHandle;
    const app = await buildApp(testOptions(prefix, { connection: client, worker: false }), {
      imports: [ClosesItsClientModule],
    });
    await app.init();
    const queue = app.moduleRef.get(QueueClient);
    // No worker: it waits until the close.
    handle = await queue.enqueue('echo', 'never run');
    const waiting = handle.result({ timeoutMs: Infinity }).catch((error: unknown) => error);
    await waitFor(async () => (await subscriberCount(redis, `{${prefix}:default}:done`)) === 1, {
      description: 'result() subscribed',
    });

    await app.close();
    expect(await waiting).toBeInstanceOf(ApplicationClosedError);
    expect(await askedAfterQuit).toBeInstanceOf(ApplicationClosedError);
  });
});

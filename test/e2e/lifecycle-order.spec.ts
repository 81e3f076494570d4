import { Test, type TestingModule } from '@nestjs/testing';
import { QueueClient, StreamQueueLifecycle, StreamQueueModule, type StreamQueueModuleOptions } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { closeModule } from '../fixtures/close-module';
import { ResourceLog, ResourceModule } from '../fixtures/resource.module';
import { logger, testOptions } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, keysMatching, randomPrefix, waitFor } from '../utils/redis';

/**
 * StreamQueueModule is global, and Nest runs a global module's hooks first at boot and last at
 * teardown. These apps hold a provider (in an ordinary module) that opens a real connection in
 * onApplicationBootstrap and closes it in onModuleDestroy, and handlers that use it.
 */
describe('lifecycle order', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const keys = new QueueKeys(prefix, 'default');
  const open = new Set<TestingModule>();

  async function build(
    log: ResourceLog,
    options: Partial<StreamQueueModuleOptions> = {},
    { resourceGlobal = false, isGlobal = true } = {},
  ): Promise<TestingModule> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        StreamQueueModule.forRoot({ ...testOptions(prefix, options), isGlobal }),
        ResourceModule.register(log, resourceGlobal),
      ],
    })
      .setLogger(logger)
      .compile();
    open.add(moduleRef);
    return moduleRef;
  }

  /** Queues `n` runs of the resource task from a process without handlers. */
  async function enqueue(n: number): Promise<void> {
    const producer = await Test.createTestingModule({
      imports: [StreamQueueModule.forRoot(testOptions(prefix, { worker: false }))],
    }).compile();
    await producer.init();
    await producer
      .get(QueueClient)
      .enqueueMany(Array.from({ length: n }, () => ({ name: 'use-resource', payload: 0 })));
    await producer.close();
  }

  afterEach(async () => {
    await Promise.all([...open].map((m) => closeModule(m)));
    open.clear();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  // A user module that is global itself (as many database modules are) has its hooks run among
  // the first at boot and the last at teardown, like ours used to.
  it.each([
    ['an ordinary', false],
    ['a global', true],
  ])('starts consuming only after every onApplicationBootstrap hook has finished (%s module)', async (_, global) => {
    const log = new ResourceLog(`${prefix}:counter`);
    log.bootstrapGraceMs = 500;
    await enqueue(200);
    const app = await build(log, { concurrency: 20 }, { resourceGlobal: global });

    await app.init();
    await waitFor(() => log.finished + log.violations.length === 200, { description: 'every run done' });

    expect(log.violations).toEqual([]);
    expect(log.events[0]).toBe('resource open');
  });

  it.each([
    ['an ordinary module', false, true],
    ['a global module', true, true],
    ['an ordinary module, StreamQueueModule not global', false, false],
  ])(
    'on close, stops starting runs and lets in-flight runs finish before any provider is destroyed (%s)',
    async (_, global, isGlobal) => {
      const log = new ResourceLog(`${prefix}:counter`);
      const concurrency = 20;
      await enqueue(2_000);
      const app = await build(log, { concurrency, shutdownTimeoutMs: 10_000 }, { resourceGlobal: global, isGlobal });
      await app.init();
      await waitFor(() => log.finished >= 50, { description: '50 runs done' });

      log.closing = true;
      await app.close();
      open.delete(app);

      expect(log.violations).toEqual([]);
      expect(log.finished).toBe(log.started);
      // Only the read already in flight when close began may deliver runs (at most its COUNT).
      expect(log.startedWhileClosing).toBeLessThanOrEqual(concurrency);
      expect(log.events.lastIndexOf('run finished')).toBeLessThan(log.events.indexOf('resource closed'));
      // What did not start stays queued for the next worker.
      await expect(redis.xlen(keys.stream)).resolves.toBe(2_000 - log.finished);
      expect(((await redis.xpending(keys.stream, 'workers')) as unknown[])[0]).toBe(0);
    },
  );

  it('StreamQueueLifecycle.drain() stops consumption while every provider stays alive', async () => {
    const log = new ResourceLog(`${prefix}:counter`);
    await enqueue(1_000);
    const app = await build(log, { concurrency: 20 });
    await app.init();
    await waitFor(() => log.finished >= 50, { description: '50 runs done' });

    log.closing = true;
    await app.get(StreamQueueLifecycle).drain();

    expect(log.events).not.toContain('resource closed');
    expect(log.violations).toEqual([]);
    expect(log.finished).toBe(log.started);
    await expect(redis.xlen(keys.stream)).resolves.toBe(1_000 - log.finished);
    expect(((await redis.xpending(keys.stream, 'workers')) as unknown[])[0]).toBe(0);
    // Its liveness key is gone: this worker holds nothing, and reads nothing more.
    await expect(keysMatching(redis, `${keys.tag}:alive:*`)).resolves.toEqual([]);

    await app.close();
    open.delete(app);
    expect(log.finished).toBe(log.started);
    expect(log.events.at(-1)).toBe('resource closed');
  });
});

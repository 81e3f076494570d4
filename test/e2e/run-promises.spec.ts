import { createHook } from 'node:async_hooks';
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { QueueClient, StreamQueueModule, Task, type StreamQueueModuleOptions } from '../../lib';
import { closeModule } from '../fixtures/close-module';
import { testOptions } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

const TASKS = 2_000;
let ran = 0;
let allRan: () => void = () => {};

@Injectable()
class SyncTasks {
  @Task('sync.noop')
  noop(): void {
    if (++ran === TASKS) allRan();
  }
}

/**
 * What a run costs in promises. Each is an allocation and a microtask, and where Node's promise
 * hooks are on (an AsyncLocalStorage entered, as OpenTelemetry's context manager does, on Node 20
 * and 22) a hook call as well: they were most of what tracing added per run there. A synchronous
 * handler's run makes about 3 (the runner's, the pipeline's wait on it, and the batched reads and
 * settles shared out); it made 6 when the pipeline wrapped each run in rxjs's from(promise) and an
 * async frame of its own.
 */
describe('promises per run', () => {
  const prefix = randomPrefix();
  const redis = createRedis();

  const compile = (options: Partial<StreamQueueModuleOptions>) =>
    Test.createTestingModule({
      imports: [StreamQueueModule.forRoot(testOptions(prefix, options))],
      providers: [SyncTasks],
    }).compile();

  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it('stays under 4 for a synchronous handler, reads and settles included', async () => {
    const producer = await (await compile({ worker: false })).init();
    const client = producer.get(QueueClient);
    for (let i = 0; i < TASKS; i += 500) {
      await client.enqueueMany(Array.from({ length: 500 }, (_, k) => ({ name: 'sync.noop', payload: i + k })));
    }
    await closeModule(producer);

    // Made before counting starts: the wait itself adds no promise per run.
    const done = new Promise<void>((resolve) => (allRan = resolve));
    const timeout = setTimeout(() => allRan(), 20_000);
    let promises = 0;
    const hook = createHook({
      init(_id, type) {
        if (type === 'PROMISE') promises++;
      },
    });
    const worker = await compile({ concurrency: 50 });
    hook.enable();
    try {
      await worker.init();
      await done;
    } finally {
      hook.disable();
      clearTimeout(timeout);
      await closeModule(worker);
    }
    expect(ran).toBe(TASKS);
    // Start-up (init, the lease, the consumer's first reads) is in the count too: a few hundred.
    expect(promises / TASKS).toBeLessThan(4);
  });
});

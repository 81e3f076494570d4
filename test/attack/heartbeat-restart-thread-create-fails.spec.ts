import type { LeaseKeeper } from '../../lib/consumer/lease-keeper';
import { loneLeaseKeeper } from '../fixtures/lone-lease-keeper';
import { RecordingLogger } from '../fixtures/recording-logger';
import { closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

// The module LeaseKeeper takes Worker from: its restart is made to fail as Node fails it.
const threads = require('node:worker_threads') as { Worker: typeof import('node:worker_threads').Worker };

/*
 * A heartbeat thread that dies is restarted with backoff (LeaseKeeper.onThreadDeath): until one
 * beats again the lease runs down, runs abort and nothing starts. Node creates a thread in
 * `new Worker()` and throws there when it cannot (ERR_WORKER_INIT_FAILED, EAGAIN: a host or
 * container at its thread or memory limit, for a moment). The restart called spawn() from a
 * timer with only a .catch() for its promise: the throw escaped the timer, an uncaught exception
 * that ended the whole process (or, caught by the application, left the worker without a
 * heartbeat for good: no further restart was ever tried, and it never ran anything again).
 */
describe('attack: the restart of a dead heartbeat thread cannot create its thread', () => {
  const redis = createRedis();
  const RealWorker = threads.Worker;
  let keeper: LeaseKeeper | undefined;
  afterAll(async () => {
    threads.Worker = RealWorker;
    await keeper?.stop(true);
    await closeAll();
  });

  it('is retried with backoff (no uncaught exception), and the lease is held again', async () => {
    const key = `{${randomPrefix()}:q}:alive:me`;
    const { host, port } = redis.options;
    keeper = loneLeaseKeeper({ host: host!, port: port! }, key, { intervalMs: 100 });
    const logger = (keeper as unknown as { options: { logger: RecordingLogger } }).options.logger;
    await keeper.start();
    expect(keeper.isHeld()).toBe(true);

    // The next two thread creations fail as Node fails them.
    let failures = 2;
    threads.Worker = class extends RealWorker {
      constructor(...args: ConstructorParameters<typeof RealWorker>) {
        if (failures > 0) {
          failures -= 1;
          throw Object.assign(new Error('EAGAIN'), { code: 'ERR_WORKER_INIT_FAILED' });
        }
        super(...args);
      }
    } as typeof RealWorker;
    await keeper.thread!.terminate();

    await waitFor(() => failures === 0 && keeper!.thread !== undefined && keeper!.heldSince() < Infinity, {
      timeoutMs: 8_000,
      description: 'a later restart created its thread and beat',
    });
    expect(keeper.isHeld()).toBe(true);
    expect(await redis.exists(key)).toBe(1);
    expect(logger.warnings().filter((w) => /could not be created \(EAGAIN\)/.test(w))).toHaveLength(2);
  }, 20_000);
});

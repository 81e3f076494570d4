import type { Logger } from '@nestjs/common';
import { LeaseKeeper } from '../../lib/consumer/lease-keeper';
import { RecordingLogger } from '../fixtures/recording-logger';
import { closeAll, createRedis, randomPrefix } from '../utils/redis';

/*
 * A command connection that ends for good stops the LeaseKeeper twice: at once
 * (ConsumerHost.onCommandsEnded) and again by the drain it starts. The first stop's thread
 * deletes the liveness keys; the second found no thread, took the keys for not deleted and
 * deleted them from the main thread, over the ended connection: a false warning "Deleting this
 * worker's liveness keys at its stop failed", the keys gone already. A second stop() is the
 * first's: it does nothing again.
 */
describe('attack: a LeaseKeeper stopped twice, its command connection ended', () => {
  const redis = createRedis();
  afterAll(closeAll);

  it('deletes the keys once (by its thread), warns of nothing, and answers both calls with one promise', async () => {
    const key = `{${randomPrefix()}:q}:alive:me`;
    const { host, port } = redis.options;
    const commands = createRedis();
    const logger = new RecordingLogger();
    const keeper = new LeaseKeeper({
      connection: { kind: 'single', options: { host: host!, port: port! } },
      address: `${host}:${port}`,
      keyGroups: [[key]],
      leaseMs: 1_000,
      intervalMs: 100,
      maxStallMs: 60_000,
      logger: logger as unknown as Logger,
      onLapse: () => undefined,
      deleteKeys: (group) => commands.del(...group),
    });
    await keeper.start();
    expect(await redis.exists(key)).toBe(1);

    // The command connection ended for good, as a retryStrategy that gives up leaves it.
    commands.disconnect();
    const first = keeper.stop(true);
    const second = keeper.stop(true);
    await Promise.all([first, second]);
    await keeper.stop(true);

    expect(await redis.exists(key)).toBe(0);
    expect(logger.warnings()).toEqual([]);
    expect(second).toBe(first);
  });
});

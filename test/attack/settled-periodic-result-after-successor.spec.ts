import { Injectable, Module } from '@nestjs/common';
import { periodicKey, Task, TaskFailedError } from '../../lib';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';

@Injectable()
class NoResultPeriodic {
  /** A periodic task that stores no result (resultTtlMs 0): a later result() answers from the key state. */
  @Task('np.tick', { queue: 'np', every: '1h', resultTtlMs: 0, maxAttempts: 1 })
  tick(payload: string | null) {
    if (payload === 'fail') throw new Error('it failed');
    return payload;
  }

  /** A plain task of the same queue, enqueued under a key that a schedule() takes later. */
  @Task('np.once', { queue: 'np', resultTtlMs: 0 })
  once(payload: string) {
    return payload;
  }
}

@Module({ providers: [NoResultPeriodic] })
class NoResultPeriodicModule {}

/**
 * A periodic run that stores no result (its @Task's resultTtlMs 0, or a result expired before
 * its key state) answers a later result() from the key state. Its successor is written in the
 * very script that ends it (includes/successor.lua), and a schedule() writes a key's first run
 * over a finished run's state: that state then named the newer run, and the run that completed
 * (or failed) rejected with TaskSupersededError, "will not complete", though it had.
 */
describe('attack: result() of a settled periodic run with no stored result, after its successor', () => {
  const env = useProbeApps();

  it('a completed periodic run still resolves, and a failed one still rejects as failed', async () => {
    const app = await startApp({ prefix: env.prefix, imports: [NoResultPeriodicModule] });
    const key = periodicKey('np.tick');
    // A run of the chain due now (its settle schedules the successor, an hour later).
    const done = await app.client.replace('np.tick', 'a', { key });
    await expect(done.result({ timeoutMs: 5_000 })).resolves.toBeUndefined();
    const after = await app.client.status(key, { queue: 'np' });
    expect(after).toMatchObject({ state: 'delayed' });
    expect(after?.id).not.toBe(done.id);
    // Asked now, `done` is told by nothing but the key state, which names its successor.
    await expect(done.result({ timeoutMs: 1_000 })).resolves.toBeUndefined();
    await expect(app.client.handle(done.id, done.toJSON()).result({ timeoutMs: 1_000 })).resolves.toBeUndefined();

    const failed = await app.client.replace('np.tick', 'fail', { key });
    await expect(failed.result({ timeoutMs: 5_000 })).rejects.toBeInstanceOf(TaskFailedError);
    expect((await app.client.status(key, { queue: 'np' }))?.id).not.toBe(failed.id);
    await expect(failed.result({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(TaskFailedError);
  });

  it("a completed run still resolves once schedule() wrote the key's first run over it", async () => {
    const app = await startApp({ prefix: env.prefix, imports: [NoResultPeriodicModule] });
    const done = await app.client.enqueue('np.once', 'a', { key: 'k' });
    await expect(done.result({ timeoutMs: 5_000 })).resolves.toBeUndefined();
    await app.client.schedule('np.once', 'b', { key: 'k', every: '1h' });
    expect(await app.client.status('k', { queue: 'np' })).toMatchObject({ state: 'delayed' });
    await expect(done.result({ timeoutMs: 1_000 })).resolves.toBeUndefined();
  });
});

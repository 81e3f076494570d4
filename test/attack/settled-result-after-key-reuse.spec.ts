import { Injectable, Module } from '@nestjs/common';
import { Task, TaskFailedError, TaskSupersededError } from '../../lib';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';

@Injectable()
class NoResultTasks {
  /** Stores no result (resultTtlMs 0): a later result() answers from the key state. */
  @Task('nr.run', { queue: 'nr', resultTtlMs: 0, maxAttempts: 1 })
  run(payload: string) {
    if (payload.startsWith('fail')) throw new Error('it failed');
    return payload;
  }
}

@Module({ providers: [NoResultTasks] })
class NoResultModule {}

/**
 * A keyed task whose result is not stored (its @Task's resultTtlMs 0, or a result expired before
 * its key state) answers a later result() from the key state, and once the key was enqueued
 * again that state names the newer run: the run that completed (or failed) rejected with
 * TaskSupersededError, "will not complete", though it had.
 */
describe('attack: result() of a settled keyed task with no stored result, after its key is used again', () => {
  const env = useProbeApps();

  it('a completed run still resolves, and a failed one still rejects as failed', async () => {
    const app = await startApp({ prefix: env.prefix, imports: [NoResultModule] });
    const done = await app.client.enqueue('nr.run', 'a', { key: 'k' });
    await expect(done.result({ timeoutMs: 5_000 })).resolves.toBeUndefined();
    const failed = await app.client.enqueue('nr.run', 'fail', { key: 'k' });
    await expect(failed.result({ timeoutMs: 5_000 })).rejects.toBeInstanceOf(TaskFailedError);
    // The key is used again: asked now, `done` is told by nothing but the key state.
    await expect(done.result({ timeoutMs: 1_000 })).resolves.toBeUndefined();
    const next = await app.client.enqueue('nr.run', 'b', { key: 'k' });
    await expect(next.result({ timeoutMs: 5_000 })).resolves.toBeUndefined();
    await expect(failed.result({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(TaskFailedError);
  });

  it('a run replaced before it ran still reads superseded', async () => {
    const producer = await startApp({ prefix: env.prefix, imports: [NoResultModule], options: { worker: false } });
    const first = await producer.client.enqueue('nr.run', 'a', { key: 'k', delayMs: 60_000 });
    await producer.client.replace('nr.run', 'b', { key: 'k', delayMs: 60_000 });
    await expect(first.result({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(TaskSupersededError);
  });
});

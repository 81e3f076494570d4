import { Task } from '../../lib';
import { TASK_METADATA } from '../../lib/stream-queue.constants';
import type { TaskMetadata } from '../../lib/task/task.decorator';

class Handlers {
  @Task('plain')
  plain(): void {}

  @Task('tuned', { queue: 'mail', maxAttempts: 7, timeoutMs: 50, backoff: { type: 'fixed', delayMs: 5 } })
  tuned(): void {}

  undecorated(): void {}
}

const metadataOf = (method: keyof Handlers): TaskMetadata | undefined =>
  Reflect.getMetadata(TASK_METADATA, Handlers.prototype[method]) as TaskMetadata | undefined;

describe('@Task()', () => {
  it('records the name on the method', () => {
    expect(metadataOf('plain')).toEqual({ name: 'plain' });
  });

  it('records the options with the name, unvalidated (bootstrap validates them)', () => {
    expect(metadataOf('tuned')).toEqual({
      name: 'tuned',
      queue: 'mail',
      maxAttempts: 7,
      timeoutMs: 50,
      backoff: { type: 'fixed', delayMs: 5 },
    });
  });

  it('lets the name argument win over a `name` smuggled into the options', () => {
    class Sneaky {
      @Task('real', { name: 'fake' } as never)
      run(): void {}
    }
    expect((Reflect.getMetadata(TASK_METADATA, Sneaky.prototype.run) as TaskMetadata).name).toBe('real');
  });

  it('leaves other methods alone', () => {
    expect(metadataOf('undecorated')).toBeUndefined();
  });
});

import { Injectable, Module } from '@nestjs/common';
import { InvalidOptionError, Task, type TaskContext } from '../../lib';
import { startApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { mostAtOnce } from '../fixtures/runs-at-once';
import { sleep } from '../utils/helpers';

const runs: { start: number; end: number }[] = [];

@Injectable()
class OtherQueueTasks {
  // Defined on a queue of one partition: a limit of 1 passes bootstrap there.
  @Task('oq.limited', { queue: 'oq-home', globalConcurrency: 1 })
  async limited(_payload: unknown, _ctx: TaskContext) {
    const start = performance.now();
    await sleep(40);
    runs.push({ start, end: performance.now() });
  }

  // Makes the workers consume the partitioned queue.
  @Task('oq.plain', { queue: 'oq-split' })
  plain() {}
}

@Module({ providers: [OtherQueueTasks] })
class OtherQueueModule {}

/**
 * An enqueue may name another queue than its task's. On a queue of more partitions than the
 * task's limit, a partition's share of it would be 0, which admission reads as no limit; on any
 * other queue the limit would be counted apart from its own queue's (see
 * test/attack/limited-task-other-queue.spec.ts): a limited task's enqueue names its own queue.
 */
describe('a limited task enqueued to a partitioned queue other than its own', () => {
  const env = useProbeApps();
  beforeEach(() => (runs.length = 0));

  it('is refused, writing nothing', async () => {
    const app = await startApp({
      prefix: env.prefix,
      imports: [OtherQueueModule],
      options: { concurrency: 20, queues: { 'oq-split': { partitions: 2 } } },
    });
    const enqueues = Array.from({ length: 6 }, (_, i) =>
      app.client.enqueue('oq.limited', { i }, { queue: 'oq-split' }),
    );
    const settled = await Promise.allSettled(enqueues);
    const written = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    await Promise.all(written.map((h) => h.result({ timeoutMs: 10_000 })));
    expect(mostAtOnce(runs)).toBeLessThanOrEqual(1);
    for (const s of settled) {
      expect(s.status).toBe('rejected');
      const error = (s as PromiseRejectedResult).reason as InvalidOptionError;
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error.option).toBe('queue');
      expect(error.message).toContain('"oq-home"');
    }
    await expect(
      app.client.enqueueMany([{ name: 'oq.limited', payload: {}, options: { queue: 'oq-split' } }]),
    ).rejects.toThrow(InvalidOptionError);
    expect(await env.redis.keys(`${env.prefix}*oq-split*flow*`)).toEqual([]);
  });

  it('is refused on a partitioned queue whose count its limit covers too', async () => {
    const app = await startApp({
      prefix: env.prefix,
      imports: [OtherQueueModule],
      options: { concurrency: 20, queues: { 'oq-split': { partitions: 1 } } },
    });
    await expect(app.client.enqueue('oq.limited', {}, { queue: 'oq-split' })).rejects.toThrow(InvalidOptionError);
    const handle = await app.client.enqueue('oq.limited', {}, { queue: 'oq-home' });
    await handle.result({ timeoutMs: 10_000 });
    expect(runs).toHaveLength(1);
  });
});

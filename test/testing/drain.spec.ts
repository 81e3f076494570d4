import { Injectable, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { QueueClient, Task } from 'nest-stream-queue';
import { DrainTimeoutError, drain, StreamQueueTestingModule } from 'nest-stream-queue/testing';
import { Latch, waitFor } from '../utils/helpers';
import { redisUrl } from '../utils/redis';

/** One handler per queue: `gate` blocks on a latch the spec opens; `count` just counts. */
@Injectable()
class GatedTasks {
  readonly started: string[] = [];
  readonly done: string[] = [];
  gate = new Latch();

  @Task('gate', { queue: 'gated' })
  async gated(payload: string): Promise<void> {
    this.started.push(payload);
    await this.gate.wait();
    this.done.push(payload);
  }

  @Task('count', { queue: 'counted' })
  count(payload: string): void {
    this.done.push(payload);
  }
}

@Module({ providers: [GatedTasks] })
class GatedModule {}

async function boot(
  options: { worker?: boolean; queues?: Record<string, { partitions: number }> } = {},
): Promise<TestingModule> {
  const app = await Test.createTestingModule({
    imports: [
      StreamQueueTestingModule.forRoot({
        connection: { url: redisUrl() },
        concurrency: 1,
        blockMs: 100,
        sweepIntervalMs: 100,
        ...options,
      }),
      GatedModule,
    ],
  }).compile();
  return app.init();
}

describe('drain(app)', () => {
  let app: TestingModule | undefined;
  afterEach(async () => {
    app?.get(GatedTasks).gate.open();
    await app?.close();
    app = undefined;
  });

  it('resolves once every queue is empty, after the runs it waited for finished', async () => {
    app = await boot();
    const client = app.get(QueueClient);
    const tasks = app.get(GatedTasks);
    await Promise.all([client.enqueue('gate', 'a'), client.enqueue('count', 'b'), client.enqueue('gate', 'c')]);
    await waitFor(() => tasks.started.length === 1);

    const drained = drain(app, { timeoutMs: 20_000 });
    tasks.gate.open();
    await drained;
    expect(tasks.done.sort()).toEqual(['a', 'b', 'c']);
  });

  it('rejects on timeout with what each queue still holds: waiting, running and due', async () => {
    app = await boot();
    const client = app.get(QueueClient);
    const tasks = app.get(GatedTasks);
    // Concurrency 1: the first run blocks, the worker reads no more, two wait in the stream.
    await Promise.all(['a', 'b', 'c'].map((p) => client.enqueue('gate', p)));
    await waitFor(() => tasks.started.length === 1);

    const error = await drain(app, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DrainTimeoutError);
    expect((error as DrainTimeoutError).left).toEqual({ gated: { waiting: 2, running: 1, due: 0 } });
    expect((error as DrainTimeoutError).message).toContain('gated: 2 waiting, 1 running, 0 due');
  });

  it('counts a due delayed task that nothing promotes (no worker) as due, and one not yet due as nothing', async () => {
    app = await boot({ worker: false });
    const client = app.get(QueueClient);
    await client.enqueue('count', 'now', { delayMs: 1 });
    await client.enqueue('count', 'next hour', { delayMs: 3_600_000 });
    await client.enqueue('count', 'plain');

    const error = await waitFor(async () => {
      const e = await drain(app!, { timeoutMs: 0 }).catch((caught: unknown) => caught as DrainTimeoutError);
      return e?.left?.counted?.due === 1 ? e : undefined;
    });
    expect(error.left).toEqual({ counted: { waiting: 1, running: 0, due: 1 } });
  });

  it('reads every partition of a partitioned queue', async () => {
    app = await boot({ worker: false, queues: { counted: { partitions: 3 } } });
    const client = app.get(QueueClient);
    // Unkeyed tasks go round-robin: the three land in three partitions.
    await client.enqueueMany(['a', 'b', 'c'].map((payload) => ({ name: 'count', payload })));
    const error = await drain(app, { timeoutMs: 0 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DrainTimeoutError);
    expect((error as DrainTimeoutError).left).toEqual({ counted: { waiting: 3, running: 0, due: 0 } });
  });
});

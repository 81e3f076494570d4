import { Injectable, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { QueueClient, Task } from 'nest-stream-queue';
import { drain, StreamQueueTestingModule } from 'nest-stream-queue/testing';
import { redisUrl } from '../utils/redis';

const RATE_WINDOW_MS = 400;

/** A rate-limited task: one start per window, so the rest of a batch waits for tokens. */
@Injectable()
class RatedTasks {
  readonly done: number[] = [];

  @Task('rated', { queue: 'rated', rateLimit: { max: 1, perMs: RATE_WINDOW_MS } })
  rated(payload: number): void {
    this.done.push(payload);
  }
}

/** One run per group at once; the first run of 1 fails, and its retry backs off. */
@Injectable()
class GroupedTasks {
  readonly done: number[] = [];
  private failed = false;

  @Task('grouped', {
    queue: 'grouped',
    groupConcurrency: 1,
    maxAttempts: 2,
    backoff: { type: 'fixed', delayMs: 300, jitter: false },
  })
  grouped(payload: number): void {
    if (payload === 1 && !this.failed) {
      this.failed = true;
      throw new Error('first attempt fails');
    }
    this.done.push(payload);
  }
}

@Module({ providers: [RatedTasks, GroupedTasks] })
class RatedModule {}

/**
 * A task waiting for a flow token or slot is in no stream, no pending list and no delayed set:
 * drain() resolved while such tasks still waited, so a test asserting on their effects after
 * drain() saw only the first.
 */
describe('drain(app) and tasks waiting under flow control', () => {
  let app: TestingModule;
  let client: QueueClient;
  beforeEach(async () => {
    app = await Test.createTestingModule({
      imports: [
        StreamQueueTestingModule.forRoot({ connection: { url: redisUrl() }, blockMs: 100, sweepIntervalMs: 100 }),
        RatedModule,
      ],
    }).compile();
    await app.init();
    client = app.get(QueueClient);
  });
  afterEach(() => app.close());

  it('waits for tasks waiting for a rate token', async () => {
    for (const n of [1, 2, 3]) await client.enqueue('rated', n);
    await drain(app, { timeoutMs: 5_000 });
    expect(app.get(RatedTasks).done.sort()).toEqual([1, 2, 3]);
  });

  // The retry itself is delayed and due later, which drain() does not wait for (documented).
  it('waits for a task that waited for its group slot while a retry backed off', async () => {
    await client.enqueue('grouped', 1, { group: 'g' });
    await client.enqueue('grouped', 2, { group: 'g' });
    await drain(app, { timeoutMs: 5_000 });
    expect(app.get(GroupedTasks).done).toContain(2);
  });
});

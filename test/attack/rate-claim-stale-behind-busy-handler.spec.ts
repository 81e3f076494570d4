import { Injectable, Module } from '@nestjs/common';
import { Task, type TaskContext } from '../../lib';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { Latch } from '../utils/helpers';
import { waitFor } from '../utils/redis';

const PER_MS = 1_000;
const calls: Array<{ name: string; handlerAt: number; startedAt: number }> = [];
let blocker = new Latch();
let blockerRunning = false;

@Injectable()
class Tasks {
  @Task('attack.rated-stale', { rateLimit: { max: 1, perMs: PER_MS } })
  rated(payload: { name: string }, ctx: TaskContext) {
    calls.push({ name: payload.name, handlerAt: Date.now(), startedAt: ctx.startedAt! });
  }

  @Task('attack.blocker-stale')
  async block() {
    blockerRunning = true;
    await blocker.wait();
  }
}

@Module({ providers: [Tasks] })
class TasksModule {}

/**
 * A rated run's start is counted at its claim. A run claimed and then queued behind a busy
 * handler (a read beside a sweep's claim: one read's worth beyond the concurrency) started long
 * after its token left the window, next to another run's start: two handlers of a task limited
 * to 1 start per second ran 12 ms apart. A claim older than STALE_CLAIM_MS (queue-consumer.ts)
 * is now made again before the handler, as after a pause.
 */
describe('attack: a rated run queued behind a busy handler starts on a stale token', () => {
  const env = useProbeApps();
  beforeEach(() => {
    calls.length = 0;
    blocker = new Latch();
    blockerRunning = false;
  });
  afterEach(() => blocker.open());

  it('handlers of a 1-per-second task never run less than perMs apart', async () => {
    const producer = await startApp({ prefix: env.prefix, imports: [TasksModule], options: { worker: false } });
    const keys = producer.keys;
    await env.redis.xgroup('CREATE', keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM');
    await producer.client.enqueue('attack.blocker-stale', {});
    await env.redis.xreadgroup('GROUP', CONSUMER_GROUP, 'dead', 'COUNT', 1, 'STREAMS', keys.stream, '>');
    await startApp({ prefix: env.prefix, imports: [TasksModule], options: { concurrency: 1, blockMs: 20_000 } });
    await waitFor(() => blockerRunning, { description: 'R reclaimed and running' });
    await producer.client.enqueue('attack.rated-stale', { name: 'A' });
    await waitFor(
      async () => ((await env.redis.xpending(keys.stream, CONSUMER_GROUP, '-', '+', 10)) as unknown[]).length === 2,
      {
        description: 'A read and claimed, waiting behind R',
      },
    );
    await producer.client.enqueue('attack.rated-stale', { name: 'B' }); // waits in the room for A's window
    // A second worker takes B once A's counted start leaves the window.
    await startApp({ prefix: env.prefix, imports: [TasksModule], options: { concurrency: 1 } });
    await waitFor(() => calls.length === 1, { timeoutMs: 3 * PER_MS, description: 'B started' });
    blocker.open();
    await waitFor(() => calls.length === 2, { description: 'A ran' });
    const [first, second] = calls;
    expect(second.handlerAt - first.handlerAt).toBeGreaterThanOrEqual(PER_MS - 50);
  }, 30_000);
});

import { Injectable, Module } from '@nestjs/common';
import { Task, type TaskContext } from '../../lib';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { waitFor } from '../utils/redis';
import { startedByDeadWorker } from '../fixtures/dead-rated-start';

const PER_MS = 3_000;
const starts: Array<{ id: string; at: number }> = [];

@Injectable()
class HeldTasks {
  @Task('attack.held', { rateLimit: { max: 1, perMs: PER_MS } })
  held(_payload: unknown, ctx: TaskContext) {
    starts.push({ id: ctx.id, at: ctx.startedAt! });
  }
}

@Module({ providers: [HeldTasks] })
class HeldTasksModule {}

/**
 * Attack on pause with a rated delivery held for a token (queue-consumer runWhenFree). The pause
 * gate is checked once, before the rate hold: a delivery already waiting in RateHold when the
 * queue is paused is claimed again when its timer ends and handed to its runner, paused or not.
 * Here: a restart (reclaimed from a dead worker that started it) waits for the full window; the
 * queue is paused during that wait; the run starts while paused. Guarantee 5's pause path, and the
 * issue's "workers start no new run of a paused queue within one heartbeat interval".
 */
describe('attack: a run waiting for a rate token starts while the queue is paused', () => {
  const env = useProbeApps();
  beforeEach(() => (starts.length = 0));
  const redisMs = async () => {
    const [s, us] = await env.redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };

  it('a restart held for its token does not start until resume', async () => {
    const producer = await startApp({ prefix: env.prefix, imports: [HeldTasksModule], options: { worker: false } });
    await env.redis.xgroup('CREATE', producer.keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM');
    const handle = await producer.client.enqueue('attack.held', {});
    // A worker that died right after its claim: its start counted, the window is full.
    const deadStart = await startedByDeadWorker(producer.keys, handle.id);

    // A live worker reclaims it and is told to wait for the window (RateHold).
    const worker = await startApp({
      prefix: env.prefix,
      imports: [HeldTasksModule],
      options: { heartbeatIntervalMs: 200 },
    });
    await waitFor(async () => {
      const rows = (await env.redis.xpending(producer.keys.stream, CONSUMER_GROUP, '-', '+', 1)) as [string, string][];
      return rows[0]?.[1] !== undefined && rows[0][1] !== 'dead';
    });
    expect(await redisMs()).toBeLessThan(deadStart + PER_MS - 1_000); // still waiting for its token
    await worker.client.pause('default');
    const pausedAt = await redisMs();

    // Past the end of its wait (a precondition), then resume.
    await waitFor(async () => starts.length > 0 || (await redisMs()) > deadStart + PER_MS + 1_500, {
      timeoutMs: PER_MS + 5_000,
    });
    const resumedAt = await redisMs();
    await worker.client.resume('default');
    await waitFor(() => starts.length === 1, { timeoutMs: PER_MS + 5_000 });
    expect(starts[0].at).toBeGreaterThan(pausedAt);
    expect(starts[0].at).toBeGreaterThanOrEqual(resumedAt);
  }, 60_000);
});

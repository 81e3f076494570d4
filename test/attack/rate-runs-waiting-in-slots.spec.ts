import { Injectable, Module } from '@nestjs/common';
import { Task, type TaskContext } from '../../lib';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { admitWithoutTokens } from '../fixtures/tokenless-admissions';
import { Latch, sleep } from '../utils/helpers';
import { waitFor } from '../utils/redis';

const PER_MS = 300;
const started: string[] = [];
/** When each handler began (Date.now()), in the order of `started`. */
const handlerAt: number[] = [];
let blocker = new Latch();
let blockerRunning = false;

@Injectable()
class RatedTasks {
  @Task('attack.rated', { rateLimit: { max: 1, perMs: PER_MS } })
  rated(payload: { name?: string }, ctx: TaskContext) {
    started.push(payload.name ?? ctx.id);
    handlerAt.push(Date.now());
  }

  @Task('attack.rated-second', { rateLimit: { max: 1, perMs: 1_000 } })
  second(payload: { name?: string }, ctx: TaskContext) {
    started.push(payload.name ?? ctx.id);
    handlerAt.push(Date.now());
  }

  @Task('attack.rated-slow', { rateLimit: { max: 1, perMs: 5_000 } })
  slow(payload: { name?: string }, ctx: TaskContext) {
    started.push(payload.name ?? ctx.id);
  }

  @Task('attack.blocker')
  async block() {
    blockerRunning = true;
    await blocker.wait();
  }
}

@Module({ providers: [RatedTasks] })
class RatedTasksModule {}

const marker = (member: string) => member.includes('\u00009999999999999999\u0000');

/**
 * A run that needs a token at its claim (a restart, a run held by a pause, an entry admitted
 * without one) waits for it in its handler slot. When the window's tokens are pending markers of
 * admitted entries, those turn into starts only once a worker reads them: with every slot held
 * by such waits, none ever would, and neither side ran again. The restart now takes over a
 * marker's token (rate.lua's rateStart); the marked entry starts as a restart does, on a token
 * of its own.
 */
describe('attack: rated runs waiting in handler slots (restarts, pauses, busy handlers)', () => {
  const env = useProbeApps();
  beforeEach(() => {
    started.length = 0;
    handlerAt.length = 0;
    blocker = new Latch();
    blockerRunning = false;
  });
  afterEach(() => blocker.open());

  it('an entry admitted without a token, ahead of a marked one on a worker of concurrency 1: both run', async () => {
    const keys = await admitWithoutTokens(env, [RatedTasksModule], 'attack.rated', 1);
    const producer = await startApp({ prefix: env.prefix, imports: [RatedTasksModule], options: { worker: false } });
    await producer.client.enqueue('attack.rated', { name: 'f0' });
    expect((await env.redis.zrange(keys.flow.starts, 0, -1)).filter(marker)).toHaveLength(1);

    await startApp({ prefix: env.prefix, imports: [RatedTasksModule], options: { concurrency: 1 } });
    await waitFor(() => started.length === 2, { timeoutMs: 20 * PER_MS, description: 'h0 and f0 started' });
    expect(started.sort()).toEqual(['f0', 'h0']);
  }, 30_000);

  /** R, reclaimed by a worker of one handler slot, blocks it; `name`'s task A is claimed beside it. */
  async function claimedBehindBlocker(name: string) {
    const producer = await startApp({ prefix: env.prefix, imports: [RatedTasksModule], options: { worker: false } });
    const keys = producer.keys;
    await env.redis.xgroup('CREATE', keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM');
    // R: read by a consumer that died (no liveness key), so the worker's sweep reclaims it.
    await producer.client.enqueue('attack.blocker', {});
    await env.redis.xreadgroup('GROUP', CONSUMER_GROUP, 'dead', 'COUNT', 1, 'STREAMS', keys.stream, '>');
    // One handler slot, and a long blocking read: the read started at boot is still blocked when
    // the sweep reclaims R beside it (one read's worth beyond the concurrency, as Slots allows).
    await startApp({
      prefix: env.prefix,
      imports: [RatedTasksModule],
      options: { concurrency: 1, blockMs: 20_000, heartbeatIntervalMs: 200 },
    });
    await waitFor(() => blockerRunning, { description: 'R reclaimed and running' });
    // A: taken by the blocked read and claimed (its start counted); it waits behind R.
    await producer.client.enqueue(name, { name: 'A' });
    await waitFor(async () => (await env.redis.zrange(keys.flow.starts, 0, -1)).some((m) => !marker(m)), {
      description: "A's start counted",
    });
    return { producer, keys };
  }

  it('a run held by a pause, and a task admitted during it: both run after the resume', async () => {
    const { producer, keys } = await claimedBehindBlocker('attack.rated');
    // B waits in the room for A's window.
    await producer.client.enqueue('attack.rated', { name: 'B' });

    await producer.client.pause('default');
    await sleep(100); // the worker heard the pause: its gate is shut
    blocker.open(); // R settles; A reaches its run and is held by the pause
    // A's counted start leaves the window, and the wake admits B: a marker, unread while paused.
    await waitFor(async () => (await env.redis.zrange(keys.flow.starts, 0, -1)).some(marker), {
      timeoutMs: 10 * PER_MS,
      description: 'B admitted with a marker',
    });
    expect(started).toEqual([]);

    await producer.client.resume('default');
    await waitFor(() => started.length === 2, { timeoutMs: 20 * PER_MS, description: 'A and B started' });
    expect(started.sort()).toEqual(['A', 'B']);
  }, 60_000);

  it('a run held by a pause moves its counted start to the resume: its own record does not hold it a window', async () => {
    const { producer, keys } = await claimedBehindBlocker('attack.rated-slow');
    await producer.client.pause('default');
    await sleep(100);
    blocker.open(); // A reaches its run and is held by the pause, its start counted in a window of 5 s
    await sleep(200);
    expect(started).toEqual([]);
    const resumedAt = Date.now();
    await producer.client.resume('default');
    await waitFor(() => started.length === 1, { timeoutMs: 8_000, description: 'A started' });
    expect(Date.now() - resumedAt).toBeLessThan(2_000); // its first record is still in its window
    const records = (await env.redis.zrange(keys.flow.starts, 0, -1)).filter((m) => !marker(m));
    expect(records).toHaveLength(1); // moved, not a second token
  }, 30_000);

  it('a run queued behind a busy handler is claimed again: handlers of a 1-per-second task never run closer', async () => {
    // A rated run's start is counted at its claim. One claimed and then queued behind a busy
    // handler started long after its token left the window, next to another run's start: two
    // handlers of this task ran 12 ms apart (a review finding). A counted start older than
    // STALE_CLAIM_MS (queue-consumer.ts) is now claimed again before the handler.
    const { producer } = await claimedBehindBlocker('attack.rated-second');
    await producer.client.enqueue('attack.rated-second', { name: 'B' }); // waits in the room for A's window
    // A second worker takes B once A's counted start leaves the window.
    await startApp({ prefix: env.prefix, imports: [RatedTasksModule], options: { concurrency: 1 } });
    await waitFor(() => started.length === 1, { timeoutMs: 3_000, description: 'B started' });
    blocker.open();
    await waitFor(() => started.length === 2, { description: 'A ran' });
    expect(started).toEqual(['B', 'A']);
    expect(handlerAt[1] - handlerAt[0]).toBeGreaterThanOrEqual(1_000 - 50);
  }, 30_000);
});

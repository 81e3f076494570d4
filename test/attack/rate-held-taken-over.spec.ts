import { Injectable, Module } from '@nestjs/common';
import { Task, type TaskContext } from '../../lib';
import { admitWithoutTokens } from '../fixtures/tokenless-admissions';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { waitFor } from '../utils/redis';

const PER_MS = 2_000;
/** Starts on Redis's clock (ctx.startedAt: the claim counted them), by task id. */
const starts = new Map<string, number>();

@Injectable()
class RatedTasks {
  @Task('attack.taken', { rateLimit: { max: 1, perMs: PER_MS } })
  taken(_payload: unknown, ctx: TaskContext) {
    starts.set(ctx.id, ctx.startedAt ?? -1);
  }
}

@Module({ providers: [RatedTasks] })
class RatedTasksModule {}

/**
 * Review of 5199260 (held runs of one task and group claim in turn, and wait as long as the
 * line was last told): a held run whose claim finds it no longer this worker's (taken over,
 * removed) is aborted by claimAgain, which leaves its rateWaitMs as it was; the line reads that
 * old wait as the claim's answer and sets readyAt a full wait ahead. The others of the line then
 * wait that long without claiming, though the token they woke for is free; each run ahead of
 * them that was taken over adds one more wait. Before, each claimed when its own wait ended.
 */
describe('attack: a held run taken over pushes back the rest of its line', () => {
  const env = useProbeApps();
  beforeEach(() => starts.clear());

  it('two held runs taken over ahead of a third: the third still starts when the window frees', async () => {
    // Enqueued without tokens (the producer's definition has no rate): the worker's own rate
    // starts h0 and holds h1..h3 for about PER_MS, in stream order.
    const keys = await admitWithoutTokens(env, [RatedTasksModule], 'attack.taken', 4);
    const entryIds = (await env.redis.xrange(keys.stream, '-', '+')).map(([id]) => id);
    await startApp({ prefix: env.prefix, imports: [RatedTasksModule], options: { concurrency: 4 } });
    await waitFor(() => starts.has('h0'), { description: 'h0 started' });
    const pendingHere = async () =>
      ((await env.redis.xpending(keys.stream, 'workers', '-', '+', 10)) as Array<[string, string]>).filter(([id]) =>
        entryIds.slice(1).includes(id),
      ).length === 3;
    await waitFor(pendingHere, { description: 'h1..h3 held by the worker' });
    // A live worker ('thief': its liveness key is set, so no sweep takes them back) takes over
    // h1 and h2 while they wait (this worker's lease lapsed for a moment, say).
    await env.redis.set(keys.alive('thief'), '1', 'PX', 60_000);
    await env.redis.xclaim(keys.stream, 'workers', 'thief', 0, entryIds[1], entryIds[2]);

    await waitFor(() => starts.has('h3'), { timeoutMs: 10_000, description: 'h3 started' });
    // h3's token is free once h0's start leaves its window, PER_MS after it: h3 started 18-57 ms
    // late (two CPU burners on), 7-71 with a window of 1 s. Each run taken over ahead of it that
    // claimed added a whole wait: h3 a window late, or two (4,053-6,081 ms after h0). Half a
    // window parts the two, and a window of 2 s leaves a wake 1 s of it, not 500 ms.
    expect(starts.get('h3')! - starts.get('h0')!).toBeLessThan(1.5 * PER_MS);
    expect(starts.has('h1') || starts.has('h2')).toBe(false);
  }, 30_000);
});

import { Injectable, Module } from '@nestjs/common';
import { Task, type TaskContext } from '../../lib';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { waitFor } from '../utils/helpers';

const BACKOFF_MS = 60_000;

@Injectable()
class RetryDueTasks {
  /** Fails its first attempt; its retry waits a minute (the spec reads it in that minute). */
  @Task('rd.retry', { queue: 'rd', maxAttempts: 2, backoff: { type: 'fixed', delayMs: BACKOFF_MS, jitter: false } })
  retry(_payload: unknown, ctx: TaskContext) {
    if (ctx.attempt === 1) throw new Error('first attempt fails');
  }
}

@Module({ providers: [RetryDueTasks] })
class RetryDueModule {}

/**
 * status(key) of a keyed task waiting out a retry's backoff said `delayed` with the `dueAt` of
 * its enqueue (in the past, before its first attempt even started): fail.lua wrote the retry's
 * state, member and attempt but not its due time, so a caller showing "next attempt at" from
 * status() showed a time already gone, a minute early here.
 */
describe('attack: status(key) of a keyed task in a retry backoff', () => {
  const env = useProbeApps();

  it("says when the retry is due: the retry's delayed member's time, not the enqueue's", async () => {
    const app = await startApp({ prefix: env.prefix, imports: [RetryDueModule] });
    const handle = await app.client.enqueue('rd.retry', null, { key: 'k' });
    const enqueued = await app.client.status('k', { queue: 'rd' });
    let status = enqueued;
    await waitFor(async () => {
      status = await app.client.status('k', { queue: 'rd' });
      return status?.state === 'delayed';
    });
    const state = `{${env.prefix}:rd}:key:k`;
    const member = await env.redis.hget(state, 'dm');
    const due = Number(await env.redis.zscore(`{${env.prefix}:rd}:delayed`, member!));
    expect({ id: status!.id, attempt: status!.attempt, dueAt: status!.dueAt?.getTime() }).toEqual({
      id: handle.id,
      attempt: 2,
      dueAt: due,
    });
    expect(due).toBeGreaterThan(enqueued!.dueAt!.getTime() + BACKOFF_MS / 2);
  });
});

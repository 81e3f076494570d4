import { TaskCancelledError } from '../../lib';
import { echoBlockedBy } from '../fixtures/probe';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { Latch } from '../utils/latch';
import { receivedSoFar } from '../utils/pubsub';
import { createRedis, waitFor } from '../utils/redis';

/**
 * Attack: cancel() of a keyed run stranded while it runs (its stream deleted, its group's pending
 * list with it, or its entry deleted: only its worker can still settle it) once that worker is
 * dead. cancel.lua saw 'running', marked the key cancelled and left its TTL and its waiters'
 * notice to the run's settle, which never comes: the key state kept no TTL for good, and a
 * result() waiting since before the cancel was never told 'x:<id>' (it read the cancel only at its
 * timeout, its last read). The sibling of keyed-running-stream-gone.spec.ts (an enqueue of such a
 * key). A live worker's settle still ends a cancelled stranded run (complete.lua: recordsRunHere).
 */
describe('attack: cancel() of a keyed run whose stream or entry was deleted while it ran', () => {
  const env = useProbeApps();
  const RESULT_TTL_MS = 60_000;
  const app = (worker: boolean) =>
    startApp({
      prefix: env.prefix,
      probe: env.probe,
      options: { worker, concurrency: 1, shutdownTimeoutMs: 200, resultTtlMs: RESULT_TTL_MS },
    });
  const running = (payload: string) =>
    waitFor(() => env.probe.runs.some((r) => r.payload === payload), { description: `'${payload}' running` });

  /** A run of key 'k' ('block': it waits for `gate`) running on a worker app; the producer too. */
  async function blockedRun(gate: Latch) {
    env.probe.on('echo', echoBlockedBy(gate));
    const p = await app(false);
    const w = await app(true);
    const run = await p.client.enqueue('echo', 'block', { key: 'k' });
    await running('block');
    return { p, w, run };
  }

  /** What the operator deletes under the run: the stream (DEL), or its entry (XDEL). */
  async function purge(stream: string, what: 'stream' | 'entry') {
    if (what === 'stream') return env.redis.del(stream);
    const [[entryId]] = await env.redis.xrange(stream, '-', '+');
    return env.redis.xdel(stream, entryId);
  }

  it.each(['stream', 'entry'] as const)(
    'its worker closed without settling, the %s deleted: cancel() ends it, its waiter told, its state expiring',
    async (what) => {
      const { p, w, run } = await blockedRun(new Latch());
      const done: string[] = [];
      const sub = createRedis();
      await sub.subscribe(p.keys.doneChannel);
      sub.on('message', (_c, m: string) => done.push(m));
      const waiting = run.result({ timeoutMs: 30_000 }).catch((e: unknown) => e);
      await purge(p.keys.stream, what);
      await w.close(); // past its 200 ms grace: the run abandoned unsettled, its liveness key deleted

      expect(await p.client.cancel('k')).toBe(true);
      // Its waiters are told by the cancel, as for a queued run (the waiter's own timeout is far).
      expect(await receivedSoFar(env.redis, p.keys.doneChannel, done)).toEqual([`x:${run.id}`]);
      expect(await waiting).toBeInstanceOf(TaskCancelledError);
      const state = p.keys.keyState('k');
      expect(await env.redis.hgetall(state)).toMatchObject({ state: 'cancelled', id: run.id, xid: run.id });
      expect(await env.redis.hexists(state, 'rmid')).toBe(0);
      expect(await env.redis.pttl(state)).toBeGreaterThan(RESULT_TTL_MS - 10_000);
      await expect(run.result({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(TaskCancelledError);
      // A cancel resent or repeated finds nothing live.
      expect(await p.client.cancel('k')).toBe(false);
    },
  );

  it('its worker alive: the cancel aborts it, and its settle releases the key and tells the waiter', async () => {
    const gate = new Latch();
    const { p, run } = await blockedRun(gate);
    const waiting = run.result({ timeoutMs: 5_000 }).catch((e: unknown) => e);
    await purge(p.keys.stream, 'stream');

    expect(await p.client.cancel('k')).toBe(true);
    const state = p.keys.keyState('k');
    // Its worker may still settle it: no TTL yet, the run still recorded (it holds the key).
    expect(await env.redis.hgetall(state)).toMatchObject({ state: 'cancelled', rmid: expect.any(String) });
    expect(await env.redis.pttl(state)).toBe(-1);
    await waitFor(() => env.probe.runs.find((r) => r.payload === 'block')?.ctx.signal.aborted === true, {
      description: 'the run aborted',
    });
    gate.open();
    expect(await waiting).toBeInstanceOf(TaskCancelledError);
    await waitFor(async () => (await env.redis.pttl(state)) > 0, { description: "the key's state expiring" });
    expect(await env.redis.hexists(state, 'rmid')).toBe(0);
    expect(await env.redis.exists(p.keys.result(run.id))).toBe(0);
  });
});

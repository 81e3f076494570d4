import { TaskCancelledError } from '../../lib';
import { watchCommands } from '../fixtures/monitored-commands';
import { echoBlockedBy } from '../fixtures/probe';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { Latch } from '../utils/latch';
import { receivedSoFar } from '../utils/pubsub';
import { createRedis, waitFor } from '../utils/redis';

/**
 * Attack: cancel() of a keyed run stranded while it runs (its stream deleted, its delivery with
 * it: only its worker can still settle it) while that worker is alive and holds its lease, and
 * then that worker's death before its settle. cancel.lua rightly keeps the key held (a TTL now
 * could let a new run start beside the live handler) and leaves the TTL and the waiters' 'x:<id>'
 * to the settle, which never came: the state kept no TTL until the key's next enqueue, and a
 * result() waiting since before the cancel heard of it only at its timeout. The sibling of
 * cancel-stranded-run.spec.ts (the owner dead at the cancel), and of the explorer's trace
 * cancel-stranded-run-owner-dies-after.json. The sweep judges such a run's owner once it died.
 */
describe('attack: a worker dying after a cancel() of its keyed run stranded by a purge', () => {
  const env = useProbeApps();
  const RESULT_TTL_MS = 60_000;
  const app = (worker: boolean) =>
    startApp({
      prefix: env.prefix,
      probe: env.probe,
      options: { worker, concurrency: 1, shutdownTimeoutMs: 200, resultTtlMs: RESULT_TTL_MS },
    });

  /** Key 'k''s run ('block', waiting for `gate`) running on a worker, its stream purged, then cancelled. */
  async function cancelledStranded(gate: Latch) {
    env.probe.on('echo', echoBlockedBy(gate));
    const p = await app(false);
    const w = await app(true);
    const run = await p.client.enqueue('echo', 'block', { key: 'k' });
    await waitFor(() => env.probe.runs.some((r) => r.payload === 'block'), { description: "'block' running" });
    const done: string[] = [];
    const sub = createRedis();
    await sub.subscribe(p.keys.doneChannel);
    sub.on('message', (_c, m: string) => done.push(m));
    const waiting = run.result({ timeoutMs: 30_000 }).catch((e: unknown) => e);
    // The waiter's first read goes once it subscribed, on the connection the cancel takes after it.
    const listeners = async () => ((await env.redis.pubsub('NUMSUB', p.keys.doneChannel)) as [string, number])[1];
    await waitFor(async () => (await listeners()) === 2, { description: "the waiter's subscription" });
    await env.redis.del(p.keys.stream);
    expect(await p.client.cancel('k')).toBe(true);
    // The worker holds its lease: the key stays held for its settle.
    const state = p.keys.keyState('k');
    expect(await env.redis.hgetall(state)).toMatchObject({ state: 'cancelled', rmid: expect.any(String) });
    expect(await env.redis.pttl(state)).toBe(-1);
    expect(await env.redis.smembers(p.keys.strandedCancels)).toEqual(['k']);
    return { p, w, run, done, waiting, state };
  }

  it("its worker dies before its settle: another worker's sweep ends the run, its waiter told", async () => {
    const { p, w, run, done, waiting, state } = await cancelledStranded(new Latch());
    await w.close(); // past its 200 ms grace: the run abandoned unsettled, its liveness key deleted
    await app(true); // another worker, sweeping

    await waitFor(() => done.includes(`x:${run.id}`), { description: `x:${run.id} told`, timeoutMs: 5_000 });
    expect(await waiting).toBeInstanceOf(TaskCancelledError); // long before its 30 s timeout
    expect(await receivedSoFar(env.redis, p.keys.doneChannel, done)).toEqual([`x:${run.id}`]);
    expect(await env.redis.hgetall(state)).toMatchObject({ state: 'cancelled', id: run.id, xid: run.id });
    for (const field of ['rmid', 'rown', 'fence', 'rliv', 'rtid'])
      expect(await env.redis.hexists(state, field)).toBe(0);
    expect(await env.redis.pttl(state)).toBeGreaterThan(RESULT_TTL_MS - 10_000);
    expect(await env.redis.exists(p.keys.strandedCancels)).toBe(0);
    expect(await p.client.cancel('k')).toBe(false);
  }, 15_000);

  it('its worker alive: sweeps leave the key held; its settle ends the run', async () => {
    const gate = new Latch();
    const { p, done, run, waiting, state } = await cancelledStranded(gate);
    await app(true); // another worker, sweeping beside the live one
    const watch = await watchCommands(p.keys.sweepLock);
    // Sweeps done under the lock (each releases it by script), by either worker.
    let sweeps = 0;
    await waitFor(
      async () => {
        sweeps += (await watch.take()).filter(([name]) => name === 'evalsha').length;
        return sweeps >= 4;
      },
      { description: 'four sweeps done', timeoutMs: 8_000 },
    );
    watch.close();
    expect(await env.redis.hgetall(state)).toMatchObject({ state: 'cancelled', rmid: expect.any(String) });
    expect(await env.redis.pttl(state)).toBe(-1);
    expect(await receivedSoFar(env.redis, p.keys.doneChannel, done)).toEqual([]);

    gate.open();
    expect(await waiting).toBeInstanceOf(TaskCancelledError);
    await waitFor(async () => (await env.redis.pttl(state)) > 0, { description: "the key's state expiring" });
    expect(await env.redis.hexists(state, 'rmid')).toBe(0);
    expect(await receivedSoFar(env.redis, p.keys.doneChannel, done)).toEqual([`x:${run.id}`]);
    // The next sweep finds the key released and drops it from the set.
    await waitFor(async () => (await env.redis.exists(p.keys.strandedCancels)) === 0, {
      description: 'the key out of the stranded cancels',
    });
  }, 15_000);
});

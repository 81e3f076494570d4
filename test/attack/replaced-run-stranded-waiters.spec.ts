import { TaskSupersededError } from '../../lib';
import { echoBlockedBy } from '../fixtures/probe';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { Latch } from '../utils/latch';
import { createRedis, waitFor } from '../utils/redis';

/**
 * Attack: a keyed run A superseded by replace() (B enqueued while A still runs) and then
 * stranded: its worker dies before A's settle and its stream entry is deleted (an operator's
 * XDEL, a trim), so no settle and no reclaim ends it. Whatever ends it (B's claim judging the
 * dead owner, the sweep once B was cancelled, a cancel() judging the dead owner) must tell A's
 * own result() waiters, with what a superseded task gets (TaskSupersededError). A's task id was
 * in no field of the key's state once B replaced it, so none of them could name it: a result()
 * without a timeout waited for good.
 */
describe('attack: the waiters of a replaced run stranded by its dead worker and its deleted entry', () => {
  const env = useProbeApps();
  const app = (worker: boolean) =>
    startApp({
      prefix: env.prefix,
      probe: env.probe,
      options: { worker, concurrency: 1, shutdownTimeoutMs: 200, resultTtlMs: 60_000 },
    });

  /**
   * A ('block', ignoring its signal) running on w1 with a result() waiting on it (no timeout),
   * replaced by B; then w1 dies (past its 200 ms grace: A abandoned unsettled, its liveness key
   * deleted) and A's entry is deleted.
   */
  async function replacedStranded(
    afterReplace: (p: Awaited<ReturnType<typeof app>>) => Promise<unknown> = async () => undefined,
  ) {
    env.probe.on('echo', echoBlockedBy(new Latch()));
    const p = await app(false);
    const w1 = await app(true);
    const a = await p.client.enqueue('echo', 'block', { key: 'k' });
    await waitFor(() => env.probe.runs.some((r) => r.ctx.id === a.id), { description: 'A running' });
    const done: string[] = [];
    const sub = createRedis();
    await sub.subscribe(p.keys.doneChannel);
    sub.on('message', (_c, m: string) => done.push(m));
    const waiting = a.result({ timeoutMs: Infinity }).catch((e: unknown) => e);
    const listeners = async () => ((await env.redis.pubsub('NUMSUB', p.keys.doneChannel)) as [string, number])[1];
    await waitFor(async () => (await listeners()) === 2, { description: "the waiter's subscription" });
    const b = await p.client.replace('echo', 'b', { key: 'k' });
    await afterReplace(p);
    const owner = await env.redis.hget(p.keys.keyState('k'), 'rown');
    expect(owner).toEqual(expect.any(String));
    await w1.close();
    expect(await env.redis.exists(p.keys.alive(owner!))).toBe(0);
    expect(a.entryId).toBeDefined();
    expect(await env.redis.xdel(p.keys.stream, a.entryId!)).toBe(1);
    return { p, a, b, done, waiting, sub };
  }

  it("B's claim takes the key over from the dead owner: A's waiter is told it was superseded", async () => {
    const { a, b, done, waiting, sub } = await replacedStranded();
    try {
      await app(true); // another worker: its sweep drops A's delivery, B's claim judges w1
      await waitFor(() => env.probe.runs.some((r) => r.ctx.id === b.id), {
        description: 'B running',
        timeoutMs: 8_000,
      });
      await waitFor(() => done.includes(`s:${a.id}`), { description: `s:${a.id} told`, timeoutMs: 2_000 });
      expect(await waiting).toBeInstanceOf(TaskSupersededError);
    } finally {
      sub.disconnect();
    }
  }, 20_000);

  it("B cancelled while A ran: the sweep ends A, and A's waiter is told it was superseded", async () => {
    const { p, a, b, done, waiting, sub } = await replacedStranded(async (producer) => {
      expect(await producer.client.cancel('k')).toBe(true);
    });
    try {
      expect(await env.redis.smembers(p.keys.strandedCancels)).toEqual(['k']);
      await app(true); // another worker, sweeping
      await waitFor(async () => (await env.redis.hexists(p.keys.keyState('k'), 'rmid')) === 0, {
        description: 'A ended by the sweep',
        timeoutMs: 8_000,
      });
      await waitFor(() => done.includes(`s:${a.id}`), { description: `s:${a.id} told`, timeoutMs: 2_000 });
      expect(await waiting).toBeInstanceOf(TaskSupersededError);
      expect(done).toContain(`x:${b.id}`);
    } finally {
      sub.disconnect();
    }
  }, 20_000);

  it("cancel() after A's owner died ends A: A's waiter is told it was superseded", async () => {
    const { p, a, b, done, waiting, sub } = await replacedStranded();
    try {
      // No worker left: the cancel judges w1 itself, finds its lease lapsed and ends A.
      expect(await p.client.cancel('k')).toBe(true);
      expect(await env.redis.hexists(p.keys.keyState('k'), 'rmid')).toBe(0);
      await waitFor(() => done.includes(`s:${a.id}`), { description: `s:${a.id} told`, timeoutMs: 2_000 });
      expect(await waiting).toBeInstanceOf(TaskSupersededError);
      expect(done).toContain(`x:${b.id}`);
    } finally {
      sub.disconnect();
    }
  }, 20_000);
});

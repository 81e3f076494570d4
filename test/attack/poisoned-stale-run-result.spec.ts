import { TaskCancelledError, TaskSupersededError } from '../../lib';
import { echoBlockedBy } from '../fixtures/probe';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { waitingResult } from '../fixtures/waiting-result';
import { Latch } from '../utils/latch';
import { receivedSoFar } from '../utils/pubsub';
import { createRedis, waitFor } from '../utils/redis';

/**
 * Attack: a keyed run cancelled (or replaced) while it ran, whose worker then died before its
 * settle. Taken over by another worker, its claim finds it stale and its waiters hear what its
 * key did ('x' or 's'), as fail.lua tells a stale run's. Past `maxDeliveries` (1 here: the death
 * is its first delivery's end), the sweep dead-letters it as poison instead, and dead-letter.lua
 * stored a failure under its result key and told its waiters 'f': a result() waiting since before
 * the cancel rejected with TaskFailedError, and its handle, which read cancelled (or superseded) a
 * moment before, then read failed. The same run, two answers, by delivery count.
 */
describe('attack: a cancelled or replaced keyed run dead-lettered as poison', () => {
  const env = useProbeApps();
  const app = (worker: boolean, maxDeliveries: number) =>
    startApp({
      prefix: env.prefix,
      probe: env.probe,
      options: { worker, concurrency: 1, shutdownTimeoutMs: 200, maxDeliveries, resultTtlMs: 60_000 },
    });

  it.each([
    ['cancel', 'cancelled', TaskCancelledError],
    ['replace', 'superseded', TaskSupersededError],
  ] as const)(
    'a %s while it runs, its worker dead, the sweep dead-letters it: its handle still reads %s',
    async (what, _state, error) => {
      env.probe.on('echo', echoBlockedBy(new Latch()));
      const p = await app(false, 1);
      const w1 = await app(true, 1);
      const run = await p.client.enqueue('echo', 'block', { key: 'k' });
      await waitFor(() => env.probe.runs.some((r) => r.payload === 'block'), { description: 'the run started' });
      // Waiting since before the cancel (its first read said running): told only by the run's end.
      const { answer: waiting } = await waitingResult(p, run.id, { key: 'k', timeoutMs: 20_000 });
      if (what === 'cancel') expect(await p.client.cancel('k')).toBe(true);
      const next = what === 'replace' ? await p.client.replace('echo', 'next', { key: 'k' }) : undefined;
      await expect(run.result({ timeoutMs: 0 })).rejects.toBeInstanceOf(error);
      await w1.close(); // past its 200 ms grace: the run abandoned unsettled, its liveness key deleted

      const done: string[] = [];
      const sub = createRedis();
      await sub.subscribe(p.keys.doneChannel);
      sub.on('message', (_c, m: string) => done.push(m));
      await app(true, 1); // its sweep takes the dead worker's delivery: past maxDeliveries, poison
      // Still dead-lettered (a run that ended its workers, for an operator to see), but its task's
      // answer is what its key did.
      await waitFor(async () => (await env.redis.xlen(p.keys.deadLetter)) === 1, {
        description: 'the poison run dead-lettered',
      });
      // Its waiters hear what its key did, as a stale run's settle or claim tells them.
      const told = await receivedSoFar(env.redis, p.keys.doneChannel, done);
      sub.disconnect();
      expect(told).toContain(`${what === 'cancel' ? 'x' : 's'}:${run.id}`);
      expect(told).not.toContain(`f:${run.id}`);
      expect(await waiting).toBeInstanceOf(error);
      await expect(run.result({ timeoutMs: 0 })).rejects.toBeInstanceOf(error);
      await expect(p.client.handle(run.id, run.toJSON()).result({ timeoutMs: 0 })).rejects.toBeInstanceOf(error);
      expect(await env.redis.exists(p.keys.result(run.id))).toBe(0);
      // The replacement, queued behind the run, runs once the dead letter released the key.
      if (next) expect(await next.result({ timeoutMs: 10_000 })).toBe('next');
    },
  );
});

import { TaskSupersededError } from '../../lib';
import { echoBlockedBy } from '../fixtures/probe';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp, type TestApp } from '../fixtures/test-app';
import { Latch } from '../utils/latch';
import { waitFor } from '../utils/redis';

/**
 * Attack: a keyed run's stream deleted while it runs (an operator's DEL: its delivery went with
 * the group's pending list), then its worker's lease lapses and is taken again (its liveness key
 * gone, as when it expires, and written again by the next beat under the same consumer name).
 * The lapse aborted the run with LeaseLostError and left it unsettled, and nothing will settle
 * it: no reclaim can find it, and its handler was told to stop. Its key state still named the
 * worker, alive again, so every enqueue() of the key returned the abandoned run and a replace()d
 * run was deferred for as long as the worker lived. The lease that ran it is gone: the run is
 * judged as any enqueue during the lapse judged it. The sibling of
 * keyed-running-stream-gone.spec.ts and replace-purged-running-run.spec.ts (the lease held).
 */
describe('attack: a keyed run whose stream was deleted, its worker losing its lease and taking it again', () => {
  const env = useProbeApps();

  // Two slots: a new run of the key has room beside the abandoned handler.
  const worker = () => startApp({ prefix: env.prefix, probe: env.probe, options: { concurrency: 2 } });
  const running = (payload: string) =>
    waitFor(() => env.probe.runs.some((r) => r.payload === payload), { description: `'${payload}' running` });
  const payloads = () => env.probe.runs.map((r) => r.payload);

  /**
   * Key 'k''s run 'block' (it waits for `gate`, whatever its signal says) running on `w`, its
   * stream deleted, then `w`'s liveness key deleted: its next beat finds it gone (its runs are
   * aborted, 'lease-lost') and writes it again with a new value. Returns the run's handle.
   */
  async function strandedThenLeaseRegained(w: TestApp, gate: Latch) {
    env.probe.on('echo', echoBlockedBy(gate));
    const first = await w.client.enqueue('echo', 'block', { key: 'k' });
    await running('block');
    const owner = await env.redis.hget(w.keys.keyState('k'), 'rown');
    await env.redis.del(w.keys.stream);
    const alive = w.keys.alive(owner!);
    const before = await env.redis.get(alive);
    await env.redis.del(alive);
    await waitFor(() => w.events.counters()['lease-lost'] === 1, { description: 'the run aborted for its lost lease' });
    await waitFor(
      async () => {
        const now = await env.redis.get(alive);
        return now !== null && now !== before;
      },
      { description: 'the lease taken again' },
    );
    return first;
  }

  /** The abandoned handler returns: its late settle finds its generation superseded and writes nothing. */
  async function lateSettleFenced(w: TestApp, gate: Latch) {
    gate.open();
    await waitFor(() => w.events.counters()['superseded-tail'] + w.events.counters()['completion-refused'] === 1, {
      description: 'the late settle refused',
    });
  }

  it('enqueue() adds a run once the lease was taken again, and the late settle writes nothing', async () => {
    const gate = new Latch();
    const w = await worker();
    const first = await strandedThenLeaseRegained(w, gate);
    const second = await w.client.enqueue('echo', 'second', { key: 'k' });
    expect({ created: second.created, same: second.id === first.id }).toEqual({ created: true, same: false });
    await expect(second.result({ timeoutMs: 5_000 })).resolves.toBe('second');
    await expect(first.result({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(TaskSupersededError);
    await lateSettleFenced(w, gate);
    expect(await w.client.status('k')).toMatchObject({ state: 'completed', id: second.id });
    expect(payloads()).toEqual(['block', 'second']);
  });

  it('the same through enqueueMany()', async () => {
    const gate = new Latch();
    const w = await worker();
    const first = await strandedThenLeaseRegained(w, gate);
    const [second] = await w.client.enqueueMany([{ name: 'echo', payload: 'second', options: { key: 'k' } }]);
    expect({ created: second.created, same: second.id === first.id }).toEqual({ created: true, same: false });
    await expect(second.result({ timeoutMs: 5_000 })).resolves.toBe('second');
    await lateSettleFenced(w, gate);
  });

  it('a replace() run starts once the lease was taken again, not when the worker stops', async () => {
    const gate = new Latch();
    const w = await worker();
    const first = await strandedThenLeaseRegained(w, gate);
    const second = await w.client.replace('echo', 'second', { key: 'k' });
    await expect(second.result({ timeoutMs: 5_000 })).resolves.toBe('second');
    await expect(first.result({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(TaskSupersededError);
    await lateSettleFenced(w, gate);
    expect(await w.client.status('k')).toMatchObject({ state: 'completed', id: second.id });
    expect(payloads()).toEqual(['block', 'second']);
  });

  it('the abandoned handler returning before any enqueue: its settle still ends the run, as a lost lease allows', async () => {
    const gate = new Latch();
    const w = await worker();
    const first = await strandedThenLeaseRegained(w, gate);
    gate.open();
    await expect(first.result({ timeoutMs: 5_000 })).resolves.toBe('block');
    const next = await w.client.enqueue('echo', 'next', { key: 'k' });
    expect(next.created).toBe(true);
    await expect(next.result({ timeoutMs: 5_000 })).resolves.toBe('next');
    expect(payloads()).toEqual(['block', 'next']);
  });
});

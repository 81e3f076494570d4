import { TaskSupersededError } from '../../lib';
import { echoBlockedBy } from '../fixtures/probe';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp, type TestApp } from '../fixtures/test-app';
import { Latch, sleep } from '../utils/latch';
import { waitFor } from '../utils/redis';

/**
 * Attack: a keyed run's stream deleted while it runs (an operator's DEL: the group and its
 * pending list go with it, and the worker's reader makes the group again), then the key
 * replace()d. The claim of the new run holds it back while the old run's delivery is pending;
 * with that delivery gone it held nothing back, and the new run started at once beside the old
 * handler, still running on a live worker (one that ignores its abort signal): two runs of one
 * key at once. The new run must wait for the old one to end, or for its owner's lease to lapse.
 * The sibling of keyed-running-stream-gone.spec.ts (an enqueue() meanwhile).
 */
describe('attack: replace() of a keyed run whose stream was deleted while it runs', () => {
  const env = useProbeApps();
  /** Long enough for the new run to have started, had its claim not held it back (deferrals retry every 250 ms). */
  const HELD_MS = 1_500;

  const worker = (concurrency: number) =>
    startApp({ prefix: env.prefix, probe: env.probe, options: { concurrency, shutdownTimeoutMs: 200 } });
  const running = (payload: string) =>
    waitFor(() => env.probe.runs.some((r) => r.payload === payload), { description: `'${payload}' running` });
  const payloads = () => env.probe.runs.map((r) => r.payload);

  /**
   * Key 'k''s run 'block' (it waits for `gate`, whatever its signal says) running on `w`; its
   * stream then deleted and its group made again by a reader with a free slot (`w`'s, or one of
   * the workers `alsoRunning` starts once 'block' runs), and the key replaced by 'second'.
   * Returns both handles.
   */
  async function purgedThenReplaced(w: TestApp, gate: Latch, alsoRunning = async (): Promise<unknown> => undefined) {
    env.probe.on('echo', echoBlockedBy(gate));
    const first = await w.client.enqueue('echo', 'block', { key: 'k' });
    await running('block');
    await alsoRunning();
    await env.redis.del(w.keys.stream);
    await waitFor(async () => (await env.redis.exists(w.keys.stream)) === 1, {
      description: "the reader made the stream's group again",
    });
    const second = await w.client.replace('echo', 'second', { key: 'k' });
    return { first, second };
  }

  it('its worker alive: the new run starts only once the old handler returned', async () => {
    const gate = new Latch();
    // Two slots: the new run has room beside the blocked one.
    const w = await worker(2);
    const { first, second } = await purgedThenReplaced(w, gate);
    await sleep(HELD_MS);
    expect(payloads()).toEqual(['block']);
    gate.open();
    await expect(second.result({ timeoutMs: 5_000 })).resolves.toBe('second');
    await expect(first.result({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(TaskSupersededError);
    expect(payloads()).toEqual(['block', 'second']);
  });

  it('its worker closed with the handler still in it: the new run starts on another worker once the lease is gone', async () => {
    const gate = new Latch();
    const w1 = await worker(1);
    let w2: TestApp | undefined;
    const { second } = await purgedThenReplaced(w1, gate, async () => (w2 = await worker(1)));
    await sleep(HELD_MS);
    expect(payloads()).toEqual(['block']);
    // Closed past its grace: the run is abandoned unsettled, and its liveness key deleted.
    await w1.close();
    await expect(w2!.client.handle(second.id).result({ timeoutMs: 5_000 })).resolves.toBe('second');
    expect(payloads()).toEqual(['block', 'second']);
    gate.open();
  });
});

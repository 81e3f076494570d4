import type { StreamQueueEvent } from '../../lib';
import { useProbeApps } from '../fixtures/probe-apps';
import { replyCuttingProxy, resentCall, type ReplyCuttingProxy } from '../fixtures/reply-cutting-proxy';
import { startApp } from '../fixtures/test-app';
import { Latch } from '../utils/latch';
import { redisUrl, waitFor } from '../utils/redis';

/**
 * Review finding: a keyed run replaced while its handler ran returns; complete.lua finds it
 * superseded (acked, nothing written, no result) and its reply is lost with the connection.
 * ioredis resends the call, which answers "no longer pending"; the worker proves the earlier
 * call its own and reported the run `completed` (its counters, its metrics, and every fleet
 * `events()` subscriber), for a run whose result was never written. A failure on this path was
 * already reported only when its key state proves it was not superseded (keyed-failure-resent).
 */
describe('attack: a superseded keyed completion whose settle reply was lost after Redis ran it', () => {
  const env = useProbeApps();
  let proxy: ReplyCuttingProxy;

  beforeEach(async () => {
    proxy = await replyCuttingProxy(redisUrl());
  });
  afterEach(() => proxy.close());

  async function blockingWorker(gate: Latch) {
    env.probe.on('echo', async (payload) => {
      if (payload === 'block') await gate.wait();
      return payload;
    });
    const w = await startApp({ prefix: env.prefix, probe: env.probe, options: { connection: { url: proxy.url } } });
    // Redis knows the complete script before a reply is cut (a cut NOSCRIPT would mean it never ran).
    await (await w.client.enqueue('echo', 'warm', { key: 'warm' })).result({ timeoutMs: 5_000 });
    const seen: StreamQueueEvent[] = [];
    for (const type of ['completed', 'superseded', 'completion-refused'] as const)
      w.events.on(type, (e) => void seen.push(e));
    return { w, seen };
  }

  it('is not reported completed', async () => {
    const gate = new Latch();
    const { w, seen } = await blockingWorker(gate);

    const handle = await w.client.enqueue('echo', 'block', { key: 'replaced-key' });
    await waitFor(() => env.probe.runs.some((r) => r.payload === 'block'), { description: "'block' running" });
    // The newer run waits for the key (runs of a key never overlap): it runs once this one settled.
    const newer = await w.client.replace('echo', 'newer', { key: 'replaced-key' });
    // Its settle finds it superseded (nothing written), the reply is lost, ioredis resends it.
    await resentCall(proxy, handle.id, async () => gate.open());
    await expect(newer.result({ timeoutMs: 10_000 })).resolves.toBe('newer');
    await new Promise((r) => setTimeout(r, 500));

    expect(seen.filter((e) => e.taskId === handle.id && e.type === 'completed')).toEqual([]);
  }, 30_000);

  it('not superseded, it is still reported completed, once (control)', async () => {
    const gate = new Latch();
    const { w, seen } = await blockingWorker(gate);

    const handle = await w.client.enqueue('echo', 'block', { key: 'kept-key' });
    await waitFor(() => env.probe.runs.some((r) => r.payload === 'block'), { description: "'block' running" });
    await resentCall(proxy, handle.id, async () => gate.open());
    await expect(handle.result({ timeoutMs: 10_000 })).resolves.toBe('block');
    await waitFor(() => seen.some((e) => e.taskId === handle.id), { description: 'the settle reported' });
    await new Promise((r) => setTimeout(r, 500));

    expect(seen.filter((e) => e.taskId === handle.id).map((e) => e.type)).toEqual(['completed']);
  }, 30_000);
});

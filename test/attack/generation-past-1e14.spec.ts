import { startApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { waitFor } from '../utils/redis';

/**
 * A generation of 1e14 or more (the queue's sequence lifted there: anyone with Redis access can
 * SET it, or write a key state's gen, which the next keyed enqueue lifts it past) is written
 * whole wherever a script writes one. Lua prints a number with 14 significant digits: the entry's
 * field g read 1.2345678901234e+14 while its key state held 123456789012345 exactly, so the claim
 * took the run for a stale generation, acked it and dropped it: the keyed task never ran, and its
 * result() waited for good.
 */
describe('attack: generations past 1e14', () => {
  const env = useProbeApps();

  it('a keyed task, a replace() and a periodic successor still run', async () => {
    const t = await startApp({ prefix: env.prefix });
    await env.redis.set(t.keys.seq, '123456789012344');
    const first = await t.client.enqueue('echo', 'first', { key: 'k' });
    expect(first.generation).toBe(123456789012345);
    await expect(first.result({ timeoutMs: 5_000 })).resolves.toBe('first');
    const replaced = await t.client.replace('echo', 'second', { key: 'k' });
    await expect(replaced.result({ timeoutMs: 5_000 })).resolves.toBe('second');

    // A runtime schedule: its successors are written by each run's settle (includes/successor.lua).
    await t.client.schedule('echo', 'tick', { key: 'every', every: 100 });
    const ticks = () => t.probe.runsOf('echo').filter((run) => run.payload === 'tick').length;
    await waitFor(() => ticks() >= 3, { description: 'three runs of the schedule', timeoutMs: 5_000 });
    await t.client.unschedule('every');
  });
});

import { Probe } from '../fixtures/probe';
import { closeApps, startApp } from '../fixtures/test-app';
import { Latch, sleep, useSpecRedis, waitFor } from '../utils/helpers';

const APPS = 3;
const TASKS = 60;

// Several app instances (one process here; the multi-process variant lives elsewhere) on one queue.
describe('several apps sharing one queue', () => {
  const { prefix, redis } = useSpecRedis();
  afterEach(closeApps);

  it('every app takes a share of the work, and each of N tasks runs exactly once', async () => {
    const probe = new Probe();
    const apps = await Promise.all(
      Array.from({ length: APPS }, () => startApp({ prefix, probe, options: { concurrency: 1 } })),
    );
    // The first APPS tasks wait for each other: with one slot per app, they can only be in
    // flight together if every app took one, which proves all of them consume the queue.
    const together = new Latch();
    let gathered = 0;
    probe.on('echo', async (payload, ctx) => {
      if (payload === 'gate') {
        gathered++;
        await together.wait();
      } else {
        await sleep(2);
      }
      return ctx.fencingToken;
    });

    const gates = await apps[0].client.enqueueMany(
      Array.from({ length: APPS }, () => ({ name: 'echo', payload: 'gate' })),
    );
    const rest = await apps[1].client.enqueueMany(
      Array.from({ length: TASKS - APPS }, (_, i) => ({ name: 'echo', payload: i })),
    );
    // Fails (rather than hangs: closeApps aborts the gated runs) if some app never takes one.
    await waitFor(() => gathered === APPS, { timeoutMs: 10_000, description: 'one gate task in flight per app' });
    together.open();
    const tokens = await Promise.all([...gates, ...rest].map((h) => h.result({ timeoutMs: 15_000 })));

    const consumer = (token: unknown) => String(token).split('/')[1];
    expect(new Set(tokens.slice(0, APPS).map(consumer)).size).toBe(APPS);
    const counts = probe.countsById();
    expect(counts.size).toBe(TASKS);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const completed = () => apps.reduce((sum, a) => sum + a.events.counters().completed, 0);
    // Counted when each settle reply arrives, which may trail the result() the spec awaited.
    await waitFor(() => completed() >= TASKS, { timeoutMs: 5_000, description: `${TASKS} completions counted` });
    expect(completed()).toBe(TASKS);
    await expect(redis.xlen(apps[0].keys.stream)).resolves.toBe(0);
  });
});

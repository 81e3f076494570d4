import { Probe } from '../fixtures/probe';
import { Latch, sleep } from '../utils/helpers';
import { closeApps, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

const APPS = 3;
const TASKS = 60;

// Several app instances (one process here; the multi-process variant lives elsewhere) on one queue.
describe('several apps sharing one queue', () => {
  const prefix = randomPrefix();
  const redis = createRedis();

  afterEach(closeApps);
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it('share the work and run each of N tasks exactly once', async () => {
    const probe = new Probe();
    const apps = await Promise.all(
      Array.from({ length: APPS }, () => startApp({ prefix, probe, options: { concurrency: 1 } })),
    );
    // The first APPS tasks wait for each other: with one slot per app, they can only be in
    // flight together if every app took one, which proves all of them consume the queue.
    const together = new Latch();
    let gathered = 0;
    let gatheredAll = false;
    // If some app never takes a gate task, let the gates go anyway so the test fails, not hangs.
    const safety = setTimeout(() => together.open(), 5_000).unref();
    probe.on('echo', async (payload, ctx) => {
      if (payload === 'gate') {
        if (++gathered === APPS) {
          gatheredAll = true;
          together.open();
        }
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
    const tokens = await Promise.all([...gates, ...rest].map((h) => h.result({ timeoutMs: 15_000 })));
    clearTimeout(safety);

    expect(gatheredAll).toBe(true);
    const consumer = (token: unknown) => String(token).split('/')[1];
    expect(new Set(tokens.slice(0, APPS).map(consumer)).size).toBe(APPS);
    const counts = probe.countsById();
    expect(counts.size).toBe(TASKS);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const completed = () => apps.reduce((sum, a) => sum + a.events.counters().completed, 0);
    await waitFor(() => completed() >= TASKS, { timeoutMs: 2_000 }).catch(() => undefined);
    expect(completed()).toBe(TASKS);
    await expect(redis.xlen(apps[0].keys.stream)).resolves.toBe(0);
  });
});

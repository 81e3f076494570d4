import { TaskFailedError, TaskTimeoutError } from '../../lib';
import { Latch } from '../utils/latch';
import { Probe } from '../fixtures/probe';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, subscriberCount, waitFor } from '../utils/redis';

/*
 * Attack on the pending marker a keyed task's redrive leaves on its result key ({"ok":null}, a
 * day). A cancel or a replace of the redriven run does not touch it: the key state answers past
 * it while it is kept. With resultTtlMs 0 that state goes as the key's run settles, and the marker
 * was all that was left: result() asked afterwards took the ended task for one still to run and
 * waited out its timeout, a day long. The run will never come.
 */
describe('result(): a keyed task redriven, then cancelled or replaced, its key state gone', () => {
  const redis = createRedis();
  let prefix: string;
  let probe: Probe;

  beforeEach(() => {
    prefix = randomPrefix();
    probe = new Probe();
  });
  afterEach(async () => {
    await closeApps();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  /** A keyed task failed for good and redriven, with nothing kept; its second run held running. */
  async function redrivenRunning(app: TestApp, again: Latch) {
    const go = new Latch();
    probe.on('once', async () => {
      const run = probe.runsOf('once').length;
      if (run === 1) {
        await go.wait();
        throw new Error('first run fails');
      }
      if (run === 2) await again.wait();
      return `run ${run}`;
    });
    const handle = await app.client.enqueue('once', 'x', { key: 'ended-key' });
    // Heard, not read after the fact: with nothing kept a failure read later is not told.
    const failed = handle.result({ timeoutMs: 15_000 });
    await waitFor(async () => (await subscriberCount(redis, app.keys.doneChannel)) === 1, {
      description: 'result() subscribed',
    });
    go.open();
    await expect(failed).rejects.toBeInstanceOf(TaskFailedError);
    await expect(app.client.redriveAll({ queue: 'default' })).resolves.toMatchObject({ redriven: 1 });
    await waitFor(() => probe.runsOf('once').length === 2, { description: 'the redriven run started' });
    expect(await redis.get(app.keys.result(handle.id))).toBe('{"ok":null}');
    return handle;
  }

  it('cancelled while it ran: result() asked afterwards answers at once', async () => {
    const app = await startApp({ prefix, probe, options: { resultTtlMs: 0 } });
    const again = new Latch();
    const handle = await redrivenRunning(app, again);
    await expect(app.client.cancel('ended-key')).resolves.toBe(true);
    again.open(); // its settle is stale: it writes no result, and its key state goes (resultTtlMs 0)
    await waitFor(() => app.events.counters()['superseded-tail'] === 1, { description: 'the run settled stale' });
    expect(await redis.exists(app.keys.keyState('ended-key'))).toBe(0);
    // Nothing kept: it answers from what Redis holds (its entry, gone), as any ended keyed task.
    const answer = await handle.result({ timeoutMs: 10_000 }).catch((error: unknown) => error);
    expect(answer).not.toBeInstanceOf(TaskTimeoutError);
    expect(probe.runsOf('once')).toHaveLength(2);
  });

  it('replaced while it ran, the newer run completed: result() asked afterwards answers at once', async () => {
    const app = await startApp({ prefix, probe, options: { resultTtlMs: 0 } });
    const again = new Latch();
    const handle = await redrivenRunning(app, again);
    const newer = await app.client.replace('once', 'y', { key: 'ended-key' });
    again.open(); // the older run settles stale, then the newer one runs and completes
    await expect(newer.result({ timeoutMs: 15_000 })).resolves.toBeUndefined(); // not kept
    await waitFor(async () => (await redis.exists(app.keys.keyState('ended-key'))) === 0, {
      description: 'the key state gone with the newer run',
    });
    const answer = await handle.result({ timeoutMs: 10_000 }).catch((error: unknown) => error);
    expect(answer).not.toBeInstanceOf(TaskTimeoutError);
  });
});

import { TaskFailedError } from '../../lib';
import { Latch } from '../utils/latch';
import { Probe } from '../fixtures/probe';
import { closeApps, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

/*
 * Attack on the pending marker a keyed task's redrive leaves on its result key ({"ok":null}, a
 * day). A cancel or a replace of the redriven run does not touch it (neither knows the task's
 * result key), so findTask() answered `pending: true` for a day for a task no listing holds and
 * no run will settle, while the key's status() said cancelled; the dashboard showed it pending.
 */
describe('findTask(): a keyed task redriven, then cancelled', () => {
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

  it('cancelled while it ran: no task found, and not reported pending', async () => {
    const app = await startApp({ prefix, probe });
    const again = new Latch();
    probe.on('once', async () => {
      if (probe.runsOf('once').length === 1) throw new Error('first run fails');
      await again.wait();
      return 'second run';
    });
    const handle = await app.client.enqueue('once', 'x', { key: 'ended-key' });
    await expect(handle.result({ timeoutMs: 15_000 })).rejects.toBeInstanceOf(TaskFailedError);
    await expect(app.client.redriveAll({ queue: 'default' })).resolves.toMatchObject({ redriven: 1 });
    await waitFor(() => probe.runsOf('once').length === 2, { description: 'the redriven run started' });
    expect((await app.client.findTask(handle.id, { queue: 'default' })).pending).toBe(true); // it runs

    await expect(app.client.cancel('ended-key')).resolves.toBe(true);
    again.open(); // its settle is stale: it writes no result, and leaves the marker
    await waitFor(() => app.events.counters()['superseded-tail'] === 1, { description: 'the run settled stale' });
    expect(await redis.get(app.keys.result(handle.id))).toBe('{"ok":null}');
    expect(await app.client.status('ended-key')).toMatchObject({ state: 'cancelled', id: handle.id });
    expect(await app.client.findTask(handle.id, { queue: 'default' })).toEqual({ result: null });
  });
});

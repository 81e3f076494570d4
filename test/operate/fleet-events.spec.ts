import type { Subscription } from 'rxjs';
import type { FleetEvent } from '../../lib';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { publishedWhileRunning, watchedEvents } from '../fixtures/watched-events';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

// events(queue): every worker's task events through Redis, published only while watched.
describe('fleet events', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let worker: TestApp;
  let watcher: TestApp;
  let subscription: Subscription | undefined;

  beforeEach(async () => {
    await cleanupPrefix(redis, prefix);
    worker = await startApp({ prefix });
    // Another process, producer-only: it sees what the worker does only through Redis.
    watcher = await startApp({ prefix, options: { worker: false } });
    worker.probe.on('once', () => {
      throw new Error('bad');
    });
  });
  afterEach(async () => {
    subscription?.unsubscribe();
    subscription = undefined;
    await closeApps();
  });
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  /** Subscribes from the watcher and runs probe tasks until their events arrive. */
  async function watch(events: FleetEvent[]): Promise<void> {
    subscription = await watchedEvents(watcher.client, events);
    events.length = 0;
  }

  it('publishes nothing while nobody watches (control: the same runs, watched, are published)', async () => {
    expect(await publishedWhileRunning(worker, 5)).toEqual([]);
    await watch([]);
    const published = (await publishedWhileRunning(worker, 5)).flatMap((m) => JSON.parse(m) as FleetEvent[]);
    expect(published.filter((e) => e.type === 'completed')).toHaveLength(5);
  });

  it('delivers completed, failed, retry-scheduled, dead-lettered and superseded events of another process', async () => {
    const events: FleetEvent[] = [];
    await watch(events);

    const ok = await watcher.client.enqueue('echo', 'fine');
    await ok.result();
    const dead = await watcher.client.enqueue('once', null);
    await expect(dead.result()).rejects.toThrow('bad');
    let tries = 0;
    worker.probe.on('flaky', () => (++tries < 2 ? Promise.reject(new Error('again')) : 'ok'));
    const flaky = await watcher.client.enqueue('flaky', null);
    await flaky.result({ timeoutMs: 5_000 });
    // A running keyed run replaced: it settles as superseded (the tail check).
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    worker.probe.on('echo', async (payload) => {
      if (payload === 'hold') await gate;
      return payload;
    });
    await watcher.client.enqueue('echo', 'hold', { key: 'k' });
    await waitFor(async () => (await watcher.client.status('k'))?.state === 'running');
    const newer = await watcher.client.replace('echo', 'newer', { key: 'k' });
    release();
    await newer.result();

    await waitFor(() => events.some((e) => e.type === 'superseded'), { description: 'superseded event' });
    const of = (type: string, taskId: string) => events.find((e) => e.type === type && e.taskId === taskId);
    expect(of('completed', ok.id)).toMatchObject({ queue: 'default', name: 'echo', worker: expect.any(String) });
    expect(of('failed', dead.id)).toMatchObject({ detail: 'bad' });
    expect(of('dead-lettered', dead.id)).toBeDefined();
    expect(of('retry-scheduled', flaky.id)).toMatchObject({ detail: 'again' });
    expect(of('completed', flaky.id)).toBeDefined();
    expect(events.find((e) => e.type === 'superseded')).toMatchObject({ key: 'k', detail: 'tail' });
  });
});

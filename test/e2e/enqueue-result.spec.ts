import { closeApps, expectCounters, startApp, type TestApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

// The happy path through a full app: enqueue -> handler -> result(), single and batched.
describe('enqueue -> handler -> result', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let t: TestApp;

  beforeEach(async () => {
    t = await startApp({ prefix });
  });
  afterEach(closeApps);
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it('runs the handler with the payload and a context, and result() returns what it returned', async () => {
    t.probe.on('echo', (payload) => ({ doubled: (payload as { n: number }).n * 2 }));
    const handle = await t.client.enqueue('echo', { n: 21 });

    await expect(handle.result()).resolves.toEqual({ doubled: 42 });
    expect(handle.created).toBe(true);
    const [run] = t.probe.runsOf('echo');
    expect(run.payload).toEqual({ n: 21 });
    expect(run.ctx).toMatchObject({
      id: handle.id,
      name: 'echo',
      queue: 'default',
      key: undefined,
      generation: 0,
      attempt: 1,
    });
    expect(run.ctx.fencingToken).toMatch(/^\d+-\d+\//);
    expect(run.ctx.signal.aborted).toBe(false);
  });

  it('result() finds a task that completed before result() was called', async () => {
    const handle = await t.client.enqueue('echo', 'early');
    // The result key exists: the completion message went out before anyone listened for it.
    await waitFor(() => redis.exists(t.keys.result(handle.id)), { description: 'stored result' });

    await expect(handle.result({ timeoutMs: 2_000 })).resolves.toBe('early');
  });

  it('enqueueMany adds every item in one call and each gets its own result', async () => {
    const handles = await t.client.enqueueMany([
      { name: 'echo', payload: 1 },
      { name: 'echo', payload: 'two' },
      { name: 'echo', payload: { three: 3 } },
    ]);

    expect(new Set(handles.map((h) => h.id)).size).toBe(3);
    await expect(Promise.all(handles.map((h) => h.result()))).resolves.toEqual([1, 'two', { three: 3 }]);
    expect(
      t.probe
        .runsOf('echo')
        .map((r) => r.ctx.id)
        .sort(),
    ).toEqual(handles.map((h) => h.id).sort());
    await expect(t.client.enqueueMany([])).resolves.toEqual([]);
  });

  it('counts completions in StreamQueueEvents and emits a completed event per task', async () => {
    const seen: string[] = [];
    const stop = t.events.on('completed', (e) => seen.push(e.taskId ?? ''));
    const handles = await Promise.all([1, 2, 3].map((n) => t.client.enqueue('echo', n)));
    await Promise.all(handles.map((h) => h.result()));
    await expectCounters(t.events, { completed: 3, failed: 0, 'retry-scheduled': 0, 'dead-lettered': 0 });
    stop();

    expect(seen.sort()).toEqual(handles.map((h) => h.id).sort());
  });
});

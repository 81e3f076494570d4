import { QueueClient, StreamQueueEvents } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { buildApp, closeHostileApps } from '../fixtures/hostile-tasks';
import { testOptions } from '../fixtures/test-app';
import { closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

/*
 * An application's listener of the task events (StreamQueueEvents.on) that throws. The events are
 * emitted from inside the worker's settles, claims, sweeps and lease checks: a throw there used to
 * fail the settle after Redis had settled the run, so its retry answered "not pending" and the run
 * was reported refused, and the listeners after the thrower never heard "completed".
 */
describe('attack: a task-event listener that throws', () => {
  const redis = createRedis();
  afterEach(closeHostileApps);
  afterAll(closeAll);

  it('every task settles once and every listener hears each event once', async () => {
    const prefix = randomPrefix();
    const keys = new QueueKeys(prefix, 'default');
    const app = await buildApp(testOptions(prefix, { concurrency: 1 }));
    await app.init();
    const events = app.moduleRef.get(StreamQueueEvents);
    const heard: string[] = [];
    events.on('completed', () => {
      throw new Error('a listener that throws');
    });
    events.on('completed', (e) => void heard.push(String(e.taskId)));
    const client = app.moduleRef.get(QueueClient);
    const handles = await Promise.all(Array.from({ length: 8 }, (_, i) => client.enqueue('echo', i)));

    await waitFor(async () => (await redis.exists(...handles.map((h) => keys.result(h.id)))) === handles.length, {
      timeoutMs: 10_000,
      description: 'every result stored',
    });
    await waitFor(() => heard.length >= handles.length, { timeoutMs: 5_000, description: 'every completion heard' });
    await new Promise((r) => setTimeout(r, 1_200)); // a settle retried would announce again
    expect([...heard].sort()).toEqual(handles.map((h) => h.id).sort());
    expect(events.counters()).toMatchObject({ completed: handles.length, 'completion-refused': 0 });
  });
});

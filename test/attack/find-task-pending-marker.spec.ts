import { listenDashboardApp } from '../fixtures/dashboard-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { plain, PlainRetryTasksModule } from '../fixtures/removal-tasks';
import { startApp } from '../fixtures/test-app';
import { waitFor } from '../utils/helpers';

/**
 * A retry waiting out its backoff (and a redriven task, and one moved into admission) leaves the
 * pending marker {"ok":null} under its result key until its later run settles. findTask() gave
 * that marker as the task's stored result, and the dashboard showed it as a finished task's
 * result (null): the task is pending, with no result yet.
 */
describe('attack: findTask() of a task whose later run is pending', () => {
  const env = useProbeApps();
  beforeEach(() => plain.reset());

  it('a task that failed once, inspected while its retry waits: no result reported', async () => {
    const worker = await startApp({ prefix: env.prefix, imports: [PlainRetryTasksModule] });
    const task = await worker.client.enqueue('plain.retry', { fail: true }); // its retry waits 3 s
    await waitFor(async () => (await worker.client.list('delayed')).tasks.some((t) => t.id === task.id));
    expect(await env.redis.get(worker.keys.result(task.id))).toBe('{"ok":null}'); // the marker stands

    const found = await worker.client.findTask(task.id);
    expect(found).toMatchObject({ task: { id: task.id, state: 'delayed' }, result: null, pending: true });

    const dashboard = await listenDashboardApp(env.prefix);
    try {
      const response = await fetch(`${dashboard.base}/tasks/${task.id}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        task: { id: task.id, state: 'delayed' },
        result: null,
        pending: true,
      });
    } finally {
      await dashboard.app.close();
    }
  });

  it('a redriven task, queued again: no result reported; its run settled, the result is', async () => {
    const producer = await startApp({
      prefix: env.prefix,
      options: { worker: false },
      imports: [PlainRetryTasksModule],
    });
    const dead = (await env.redis.xadd(
      producer.keys.deadLetter,
      '*',
      'id',
      't-1',
      'n',
      'plain.void',
      'p',
      '1',
      'reason',
      'broke',
    ))!;
    await producer.client.redrive(dead);
    expect(await producer.client.findTask('t-1')).toMatchObject({
      task: { state: 'queued' },
      result: null,
      pending: true,
    });

    await env.redis.set(producer.keys.result('t-1'), '{"ok":true,"value":7}'); // as complete.lua stores it
    const settled = await producer.client.findTask('t-1');
    expect(settled).toMatchObject({ task: { state: 'queued' }, result: '{"ok":true,"value":7}' });
    expect(settled).not.toHaveProperty('pending');
  });
});

import { QueueClient } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { dashboardAppForSuite } from '../fixtures/dashboard-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * `queues` names the queues the dashboard shows; its API took any queue name in the URL, so
 * whoever passed the guard read and purged, redrove, removed or cancelled in queues the app
 * never gave the dashboard. A queue outside `queues` is now a 404 that reads and changes
 * nothing (a review finding; the test failed).
 */
describe('attack: the dashboard API on a queue it was not given', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const hidden = new QueueKeys(prefix, 'payroll');
  const dash = dashboardAppForSuite(prefix, redis, { dashboard: { path: '/queues', queues: ['default'] } });

  const json = (method: string, body?: unknown) => ({
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

  it('answers 404 naming the queue, and reads or changes nothing there', async () => {
    const dead = (await redis.xadd(
      hidden.deadLetter,
      '*',
      'id',
      't-1',
      'n',
      'echo',
      'p',
      '"x"',
      'a',
      '1',
      'reason',
      'r',
    ))!;
    const queued = await dash.app.get(QueueClient).enqueue('echo', 'salary', { queue: 'payroll', key: 'k' });
    const calls: [string, RequestInit?][] = [
      ['payroll/tasks?state=dead'],
      [`payroll/tasks/${queued.id}`],
      ['payroll/dead-letters/purge', json('POST', {})],
      ['payroll/dead-letters/redrive-all', json('POST')],
      [`payroll/dead-letters/${dead}/redrive`, json('POST')],
      [`payroll/tasks/${queued.id}`, json('DELETE')],
      ['payroll/keys/k/cancel', json('POST')],
      ['payroll/keys/k/replace', json('POST', { name: 'echo', payload: 'raise' })],
    ];
    for (const [path, init] of calls) {
      const answer = await fetch(`${dash.origin}/queues/api/queues/${path}`, init);
      expect([path, answer.status]).toEqual([path, 404]);
      const body = (await answer.json()) as { message: string };
      expect(body.message).toMatch(/queue "payroll"/);
      expect(body.message).not.toContain('salary');
    }
    expect(await redis.xlen(hidden.deadLetter)).toBe(1);
    expect((await dash.app.get(QueueClient).status('k', { queue: 'payroll' }))?.state).toBe('queued');
    expect((await dash.app.get(QueueClient).list('queued', { queue: 'payroll' })).tasks.map((t) => t.id)).toEqual([
      queued.id,
    ]);
  });

  it("a listed queue's API answers as before", async () => {
    expect((await fetch(`${dash.origin}/queues/api/queues/default/tasks?state=dead`)).status).toBe(200);
  });
});

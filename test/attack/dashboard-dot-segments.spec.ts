import { InvalidOptionError, QueueClient } from '../../lib';
import { StreamQueueDashboardModule } from '../../lib/dashboard';
import { QueueKeys } from '../../lib/redis/keys';
import { dashboardAppForSuite } from '../fixtures/dashboard-app';
import { createRedis, randomPrefix } from '../utils/redis';

const post = (url: string, body: unknown = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/**
 * A browser (and fetch) resolves a path segment "." or ".." before asking, encoded or not
 * (%2e%2e is a dot segment too): the page's cancel of key ".." asked POST .../queues/default/cancel,
 * a 404 that named no key, and a key "." or a task id ".." could never be acted on from the page;
 * a queue named ".." (a valid name) broke every call of its view. Such a key or id now goes in
 * the query (`?key=`, `?id=`) under a placeholder segment, and forRoot() refuses a queue named
 * "." or "..", naming the option. A review finding; each test failed.
 */
describe('attack: "." and ".." as a key, a task id or a queue in the dashboard', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const dash = dashboardAppForSuite(prefix, redis, { dashboard: { path: '/queues' } });

  it('the URL a browser makes of them is not the route', () => {
    expect(new URL(`${dash.base}/keys/${encodeURIComponent('..')}/cancel`).pathname).toBe(
      '/queues/api/queues/default/cancel',
    );
    expect(new URL(`${dash.base}/keys/%2e%2e/cancel`).pathname).toBe('/queues/api/queues/default/cancel');
  });

  it.each(['.', '..'])('cancels and replaces key "%s" given in the query', async (key) => {
    const client = dash.app.get(QueueClient);
    await client.enqueue('echo', 'first', { key });
    const replaced = await post(`${dash.base}/keys/_/replace?key=${encodeURIComponent(key)}`, {
      name: 'echo',
      payload: 'second',
    }).then(async (r) => [r.status, await r.json()]);
    expect(replaced).toEqual([201, { id: expect.any(String), generation: expect.any(Number) }]);
    const cancelled = await post(`${dash.base}/keys/_/cancel?key=${encodeURIComponent(key)}`);
    await expect(cancelled.json()).resolves.toEqual({ cancelled: key });
    await expect(client.status(key)).resolves.toMatchObject({ state: 'cancelled' });
  });

  it('inspects a task whose id is ".." given in the query', async () => {
    const keys = new QueueKeys(prefix, 'default');
    await redis.xadd(keys.deadLetter, '*', 'id', '..', 'n', 'echo', 'p', '"x"', 'a', '1', 'reason', 'r');
    const answer = await fetch(`${dash.base}/tasks/_?id=..&partition=0`);
    expect(answer.status).toBe(200);
    await expect(answer.json()).resolves.toMatchObject({ task: { id: '..', state: 'dead' } });
  });

  it.each(['.', '..'])('refuses a queue named "%s" at forRoot(), naming it', (queue) => {
    const error = (() => {
      try {
        StreamQueueDashboardModule.forRoot({ path: '/queues', queues: ['default', queue] });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ option: 'queues[1]' });
  });
});

import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { StreamQueueDashboardModule } from '../../lib/dashboard';
import { dashboardAppForSuite } from '../fixtures/dashboard-app';
import { createRedis, randomPrefix } from '../utils/redis';

/** Refuses every request that does not say `x-admin: yes`, as a cookie or token check would. */
class AdminHeaderGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-admin'] === 'yes';
  }
}

const admin = { 'x-admin': 'yes' };
const asJson = { ...admin, 'content-type': 'application/json' };

/**
 * Every dashboard answer says `Cache-Control: no-store` and `X-Content-Type-Options: nosniff`
 * (README). The interceptor that set them runs after the guards: the user's guard refusing
 * (403), a write sent as a form (415) and a queue the dashboard does not list (404) answered
 * without either, as did a refusal by the app's own global guard.
 */
describe("attack: the headers of the dashboard's refusals", () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const dash = dashboardAppForSuite(prefix, redis, {
    dashboard: StreamQueueDashboardModule.forRoot({ path: '/queues', guard: AdminHeaderGuard }),
    beforeListen: (app) =>
      app.useGlobalGuards({
        canActivate: (context: ExecutionContext) =>
          context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-app'] !== 'refuse',
      }),
  });

  it.each([
    ['the guard refusing the page', 403, '', {}, 'GET'],
    ['the guard refusing the API', 403, '/api/overview', {}, 'GET'],
    ["the app's global guard refusing", 403, '/api/overview', { ...admin, 'x-app': 'refuse' }, 'GET'],
    [
      'a write sent as a form',
      415,
      '/api/queues/default/keys/k/cancel',
      { ...admin, 'content-type': 'text/plain' },
      'POST',
    ],
    ['a queue not listed', 404, '/api/queues/other/tasks?state=queued', admin, 'GET'],
    ['an unknown task', 404, '/api/queues/default/tasks/no-such-task', admin, 'GET'],
    ['a bad listing', 400, '/api/queues/default/tasks?state=nonsense', admin, 'GET'],
    ['a key with no live run', 404, '/api/queues/default/keys/k/cancel', asJson, 'POST'],
  ])('%s: %d with no-store and nosniff', async (_, status, path, headers, method) => {
    const answer = await fetch(`${dash.origin}/queues${path}`, {
      method,
      headers,
      body: method === 'POST' ? '{}' : undefined,
    });
    expect({
      status: answer.status,
      cache: answer.headers.get('cache-control'),
      sniff: answer.headers.get('x-content-type-options'),
    }).toEqual({ status, cache: 'no-store', sniff: 'nosniff' });
  });
});

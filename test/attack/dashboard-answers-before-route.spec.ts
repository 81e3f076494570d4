import { dashboardAppForSuite } from '../fixtures/dashboard-app';
import { createRedis, randomPrefix } from '../utils/redis';

const asJson = { 'content-type': 'application/json' };

/**
 * Every dashboard answer says `Cache-Control: no-store` and `X-Content-Type-Options: nosniff`
 * (README), but the middleware that sets them runs once Express has matched the route: an answer
 * given before (a body the app's JSON parser rejects, 400 or 413; a segment that is no valid
 * percent-encoding, 400) or for no route at all (a mistyped API path, 404) went without either.
 * A review finding; each case failed.
 */
describe('attack: the headers of dashboard answers given before any route', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const dash = dashboardAppForSuite(prefix, redis, {
    dashboard: { path: '/ops/queues' },
    beforeListen: (app) => app.setGlobalPrefix('admin'),
  });
  const at = (path: string) => `${dash.origin}/admin/ops/queues${path}`;

  it.each([
    ['a body that is not JSON', 400, '/api/queues/default/dead-letters/purge', 'POST', '{"all": tru'],
    ['a body over the parser limit', 413, '/api/queues/default/dead-letters/purge', 'POST', `"${'x'.repeat(200_000)}"`],
    ['a segment with a bad percent-encoding', 400, '/api/queues/default/tasks/%FF', 'GET', undefined],
    ['an API path the dashboard does not have', 404, '/api/no-such-route', 'GET', undefined],
  ])('%s: %d with no-store and nosniff', async (_, status, path, method, body) => {
    const answer = await fetch(at(path), { method, headers: asJson, body });
    expect({
      status: answer.status,
      cache: answer.headers.get('cache-control'),
      sniff: answer.headers.get('x-content-type-options'),
    }).toEqual({ status, cache: 'no-store', sniff: 'nosniff' });
  });

  // Express matches routes regardless of case by default: so must the headers' matcher. It failed.
  it('the same in other letter case, as Express routes it', async () => {
    const routed = await fetch(`${dash.origin}/ADMIN/OPS/Queues/api/overview`);
    const unread = await fetch(`${dash.origin}/ADMIN/OPS/Queues/api/queues/default/dead-letters/purge`, {
      method: 'POST',
      headers: asJson,
      body: '{',
    });
    expect(
      [routed, unread].map((a) => [a.status, a.headers.get('cache-control'), a.headers.get('x-content-type-options')]),
    ).toEqual([
      [200, 'no-store', 'nosniff'],
      [400, 'no-store', 'nosniff'],
    ]);
  });

  it("leaves the app's other answers alone", async () => {
    const answer = await fetch(`${dash.origin}/admin/elsewhere`, { method: 'POST', headers: asJson, body: '{' });
    expect({ status: answer.status, cache: answer.headers.get('cache-control') }).toEqual({ status: 400, cache: null });
  });
});

import { QueueClient } from '../../lib';
import { dashboardAppForSuite } from '../fixtures/dashboard-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * What the dashboard's answers tell the browser. The page could be framed by any site, which then
 * lays its own bait over the page's buttons (clickjacking: a dead letter's redrive asks nothing);
 * a CSP's default-src does not cover frame-ancestors. The API's answers, payloads and results in
 * them, went without Cache-Control: a browser's or a proxy's cache could keep them past the
 * operator's session; and no answer said nosniff. Nor does default-src cover base-uri or
 * form-action: an injected <base> could move the page's relative script URL to another origin, an
 * injected form could post the page's fields anywhere. Review findings, each test failed.
 */
describe("attack: the dashboard's response headers", () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const dash = dashboardAppForSuite(prefix, redis, { dashboard: { path: '/queues' } });

  it('the page refuses to be framed by another site', async () => {
    const page = await fetch(`${dash.origin}/queues`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/(^|;)\s*frame-ancestors 'none'\s*(;|$)/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
  });

  it("the page's <base> may point only at its own origin, and no form may be sent", async () => {
    const page = await fetch(`${dash.origin}/queues`);
    expect(page.status).toBe(200);
    // 'self', not 'none': the page sets its own <base> (relative, so the same origin).
    const csp = page.headers.get('content-security-policy');
    expect(csp).toMatch(/(^|;)\s*base-uri 'self'\s*(;|$)/);
    expect(csp).toMatch(/(^|;)\s*form-action 'none'\s*(;|$)/);
  });

  it('no answer is stored by a cache, and none is sniffed for another type', async () => {
    const handle = await dash.app.get(QueueClient).enqueue('echo', { secret: 'payload' });
    const paths = [
      '',
      '/assets/app.js',
      '/assets/style.css',
      '/api/overview',
      '/api/queues/default/tasks?state=queued',
      `/api/queues/default/tasks/${handle.id}`,
    ];
    for (const path of paths) {
      const answer = await fetch(`${dash.origin}/queues${path}`);
      expect([path, answer.status]).toEqual([path, 200]);
      expect([path, answer.headers.get('cache-control')]).toEqual([path, 'no-store']);
      expect([path, answer.headers.get('x-content-type-options')]).toEqual([path, 'nosniff']);
    }
  });
});

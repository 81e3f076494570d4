import { dashboardAppForSuite } from '../fixtures/dashboard-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * An app with a global prefix (app.setGlobalPrefix('admin')) serves the page at /admin/queues,
 * but the page's base was the bare `path` ('/queues/'): its script, its styles and its API were
 * asked at /queues/..., all 404, and the page stayed empty. Its base is now relative to where
 * it was served (a review finding; the test failed).
 */
describe('attack: the dashboard under a global prefix', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const dash = dashboardAppForSuite(prefix, redis, {
    dashboard: { path: '/ops/queues' },
    beforeListen: (app) => app.setGlobalPrefix('admin'),
  });

  it.each(['/admin/ops/queues', '/admin/ops/queues/'])(
    'the page at %s finds its script, styles and API',
    async (path) => {
      const page = await fetch(`${dash.origin}${path}`);
      expect(page.status).toBe(200);
      const base = /<base href="([^"]*)"/.exec(await page.text())?.[1];
      expect(base).toBeDefined();
      const from = new URL(base!, page.url);
      for (const relative of ['assets/app.js', 'assets/style.css', 'api/overview']) {
        const url = new URL(relative, from);
        expect([url.pathname, (await fetch(url)).status]).toEqual([`/admin/ops/queues/${relative}`, 200]);
      }
    },
  );
});

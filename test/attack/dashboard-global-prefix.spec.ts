import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { StreamQueueModule } from '../../lib';
import { StreamQueueDashboardModule } from '../../lib/dashboard';
import { Probe } from '../fixtures/probe';
import { ProbeModule } from '../fixtures/probe.module';
import { testOptions } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

/**
 * An app with a global prefix (app.setGlobalPrefix('admin')) serves the page at /admin/queues,
 * but the page's base was the bare `path` ('/queues/'): its script, its styles and its API were
 * asked at /queues/..., all 404, and the page stayed empty. Its base is now relative to where
 * it was served (a review finding; the test failed).
 */
describe('attack: the dashboard under a global prefix', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let app: INestApplication;
  let origin: string;

  beforeAll(async () => {
    await cleanupPrefix(redis, prefix);
    const moduleRef = await Test.createTestingModule({
      imports: [
        StreamQueueModule.forRoot(testOptions(prefix, { worker: false })),
        ProbeModule.register(new Probe()),
        StreamQueueDashboardModule.forRoot({ path: '/ops/queues' }),
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.setGlobalPrefix('admin');
    await app.listen(0, '127.0.0.1');
    origin = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(async () => {
    await app?.close();
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it.each(['/admin/ops/queues', '/admin/ops/queues/'])(
    'the page at %s finds its script, styles and API',
    async (path) => {
      const page = await fetch(`${origin}${path}`);
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

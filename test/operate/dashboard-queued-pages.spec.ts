import type { INestApplication } from '@nestjs/common';
import type { TaskPage } from '../../lib';
import { listenDashboardApp } from '../fixtures/dashboard-app';
import { ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';

/**
 * The dashboard pages the queued listing with the cursor each page returns, passed back as a
 * query parameter. Once its cursor was in the waiting room, a task admitted from past it (another
 * group's turn, by a settle between two pages) had moved to the stream the pages had passed, and
 * no page listed it (pages of 2: w2 of G2, admitted while the cursor was in G1). A room cursor
 * now carries the stream entry the listing reached (`w:<room position>:<entry id>`), and the
 * dashboard's pages list every task.
 */
describe('the dashboard pages queued tasks while settles admit from the room', () => {
  let f: ScriptFixture;
  let app: INestApplication | undefined;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(async () => {
    await app?.close();
    await f.tearDown();
  });
  afterAll(closeAll);

  const limits = { global: 3, group: 0, agingMs: 1000 };

  it('lists every task, w2 included', async () => {
    for (const id of ['a1', 'a2', 'a3']) await f.enqueueFlow(id, limits, 'A');
    const running = (await f.deliver('a')).map(([entryId, fields]) => ({ entryId, id: fields.id }));
    await f.enqueue({ id: 'p1', name: 'plain' });
    await f.enqueue({ id: 'p2', name: 'plain' });
    for (const [i, group] of ['G1', 'G2', 'G1', 'G2'].entries()) await f.enqueueFlow(`w${i + 1}`, limits, group);
    let origin: string;
    ({ app, origin } = await listenDashboardApp(f.prefix, { dashboard: { path: '/queues', queues: ['q'] } }));
    const listed: string[] = [];
    let page: TaskPage | undefined;
    for (let n = 0; n < 20; n++) {
      if (n > 0 && running.length > 0)
        expect(await f.complete('a', [{ ...running.shift()!, result: '', flow: true }])).toEqual(['completed']);
      const cursor = page?.cursor ? `&cursor=${encodeURIComponent(page.cursor)}` : '';
      const response = await fetch(`${origin}/queues/api/queues/q/tasks?state=queued&limit=2${cursor}`);
      expect(response.status).toBe(200);
      page = (await response.json()) as TaskPage;
      listed.push(...page.tasks.map((t) => t.id!));
      if (!page.cursor) break;
    }
    expect(page?.cursor).toBeNull();
    expect([...new Set(listed)].sort()).toEqual(['p1', 'p2', 'w1', 'w2', 'w3', 'w4']);
  });
});

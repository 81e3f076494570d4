import { QueueKeys } from '../../lib/redis/keys';
import { GROUP_READ_LIMIT } from '../../lib/scripts/queue-state.script';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { dashboardAppForSuite } from '../fixtures/dashboard-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * The dashboard's overview (polled every second) inspects every queue it shows, all at once: one
 * queue that could not be read (a stream given more than GROUP_READ_LIMIT consumer groups, which
 * anyone who can write to Redis can create) failed the whole answer (500), and the page showed
 * no queue at all. Each queue now answers for itself: a queue that cannot be read is listed with
 * its error's code and message, the others as before. A review finding; the spec failed.
 */
describe('attack: the dashboard overview with one queue that cannot be read', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const dash = dashboardAppForSuite(prefix, redis, { dashboard: { path: '/queues', queues: ['default', 'mail'] } });

  it('lists the others, and that one with its error', async () => {
    const mail = new QueueKeys(prefix, 'mail');
    await redis.xgroup('CREATE', mail.stream, CONSUMER_GROUP, '$', 'MKSTREAM');
    const pipeline = redis.pipeline();
    for (let i = 0; i < GROUP_READ_LIMIT; i++) pipeline.xgroup('CREATE', mail.stream, `foreign-${i}`, '$');
    await pipeline.exec();
    const answer = await fetch(`${dash.origin}/queues/api/overview`);
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { queues: Record<string, unknown>[] };
    expect(body.queues).toEqual([
      expect.objectContaining({ queue: 'default', waiting: 0, consumers: [] }),
      {
        queue: 'mail',
        error: { code: 'TOO_MANY_GROUPS', message: expect.stringContaining(`"mail" has ${GROUP_READ_LIMIT + 1}`) },
      },
    ]);
  });
});

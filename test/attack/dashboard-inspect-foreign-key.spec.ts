import { QueueKeys } from '../../lib/redis/keys';
import { dashboardAppForSuite } from '../fixtures/dashboard-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * The dashboard inspects a task it lists, whatever key its entry names. A key no enqueue can
 * give (written straight to Redis: past 1024 characters) made the inspection a 400 "Invalid
 * option key", for a task the listing showed: the operator saw an error and no stored result.
 * Such a key has no status to read: the task is shown with none (a review finding; it failed).
 */
describe('attack: the dashboard inspects a task whose key no enqueue could give', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const keys = new QueueKeys(prefix, 'default');
  const dash = dashboardAppForSuite(prefix, redis, { dashboard: { path: '/queues' } });

  it('shows the task and its stored result, with no key status', async () => {
    const key = 'k'.repeat(2000);
    await redis.xadd(keys.deadLetter, '*', 'id', 't-1', 'n', 'echo', 'k', key, 'p', '"x"', 'a', '1', 'reason', 'r');
    await redis.set(keys.result('t-1'), '"kept"');
    const answer = await fetch(`${dash.base}/tasks/t-1?partition=0`);
    expect(answer.status).toBe(200);
    await expect(answer.json()).resolves.toEqual({
      task: expect.objectContaining({ id: 't-1', key, state: 'dead' }),
      result: '"kept"',
      status: null,
    });
  });
});

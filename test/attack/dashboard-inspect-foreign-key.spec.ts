import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { StreamQueueModule } from '../../lib';
import { StreamQueueDashboardModule } from '../../lib/dashboard';
import { QueueKeys } from '../../lib/redis/keys';
import { Probe } from '../fixtures/probe';
import { ProbeModule } from '../fixtures/probe.module';
import { testOptions } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

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
  let app: INestApplication;
  let api: string;

  beforeAll(async () => {
    await cleanupPrefix(redis, prefix);
    const moduleRef = await Test.createTestingModule({
      imports: [
        StreamQueueModule.forRoot(testOptions(prefix, { worker: false })),
        ProbeModule.register(new Probe()),
        StreamQueueDashboardModule.forRoot({ path: '/queues' }),
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    api = `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/queues/api/queues/default`;
  });
  afterAll(async () => {
    await app?.close();
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it('shows the task and its stored result, with no key status', async () => {
    const key = 'k'.repeat(2000);
    await redis.xadd(keys.deadLetter, '*', 'id', 't-1', 'n', 'echo', 'k', key, 'p', '"x"', 'a', '1', 'reason', 'r');
    await redis.set(keys.result('t-1'), '"kept"');
    const answer = await fetch(`${api}/tasks/t-1?partition=0`);
    expect(answer.status).toBe(200);
    await expect(answer.json()).resolves.toEqual({
      task: expect.objectContaining({ id: 't-1', key, state: 'dead' }),
      result: '"kept"',
      status: null,
    });
  });
});

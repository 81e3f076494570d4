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
 * The page purges one dead letter by sending its id in the body. In an app that does not parse
 * JSON bodies (`bodyParser: false`, a parser of other types only), the body arrived undefined,
 * the handler took that for "no ids", and purged every dead letter of the queue. A purge of all
 * now says so (`{ "all": true }`); a body naming neither is a 400 that purges nothing (a review
 * finding; the test failed).
 */
describe('attack: a dashboard purge whose body the app did not read', () => {
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
    app = moduleRef.createNestApplication({ logger: false, bodyParser: false });
    await app.listen(0, '127.0.0.1');
    api = `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/queues/api/queues/default`;
  });
  afterAll(async () => {
    await app?.close();
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  const deadLetter = () => redis.xadd(keys.deadLetter, '*', 'id', 't', 'n', 'echo', 'p', '1', 'a', '1', 'reason', 'r');

  it('purges nothing, and says the body was not read', async () => {
    const one = (await deadLetter())!;
    await deadLetter();
    const answer = await fetch(`${api}/dead-letters/purge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [one], partition: 0 }),
    });
    expect(answer.status).toBe(400);
    await expect(answer.json()).resolves.toMatchObject({ message: expect.stringMatching(/body/) });
    expect(await redis.xlen(keys.deadLetter)).toBe(2);
    const replace = await fetch(`${api}/keys/k/replace`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'echo', payload: 1 }),
    });
    expect(replace.status).toBe(400);
    await expect(replace.json()).resolves.toMatchObject({ code: 'BODY_NOT_READ' });
  });
});

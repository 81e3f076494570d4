import { QueueKeys } from '../../lib/redis/keys';
import { dashboardAppForSuite } from '../fixtures/dashboard-app';
import { createRedis, randomPrefix } from '../utils/redis';

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
  const dash = dashboardAppForSuite(prefix, redis, {
    dashboard: { path: '/queues' },
    application: { bodyParser: false },
  });

  const deadLetter = () => redis.xadd(keys.deadLetter, '*', 'id', 't', 'n', 'echo', 'p', '1', 'a', '1', 'reason', 'r');

  it('purges nothing, and says the body was not read', async () => {
    const one = (await deadLetter())!;
    await deadLetter();
    const answer = await fetch(`${dash.base}/dead-letters/purge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [one], partition: 0 }),
    });
    expect(answer.status).toBe(400);
    await expect(answer.json()).resolves.toMatchObject({ message: expect.stringMatching(/body/) });
    expect(await redis.xlen(keys.deadLetter)).toBe(2);
    const replace = await fetch(`${dash.base}/keys/k/replace`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'echo', payload: 1 }),
    });
    expect(replace.status).toBe(400);
    await expect(replace.json()).resolves.toMatchObject({ code: 'BODY_NOT_READ' });
  });
});

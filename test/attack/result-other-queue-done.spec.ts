import { randomUUID } from 'node:crypto';
import { TaskTimeoutError } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, subscriberCount, waitFor } from '../utils/redis';

/*
 * Attack on "a wait settles from its own task's completion": completion messages were matched
 * by task id alone, whatever channel they came on. A handle built by hand with the wrong queue
 * (or partition) waited on that queue's channel, and settled from the completion of the same id
 * published on the right queue's channel, which the same process heard for another wait: it
 * resolved with nothing (the wrong queue stores no result) where its own queue never had the task.
 */
describe('result(): a completion heard on another queue’s channel', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let producer: TestApp;

  beforeEach(async () => {
    producer = await startApp({ prefix, options: { worker: false } });
  });
  afterEach(async () => {
    await closeApps();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  const subscribed = (channel: string) =>
    waitFor(async () => (await subscriberCount(redis, channel)) === 1, { description: `${channel} subscribed` });

  it('settles only the wait on the channel it came on', async () => {
    const id = randomUUID();
    const right = producer.keys;
    const wrong = new QueueKeys(prefix, 'elsewhere');
    const rightWait = producer.client.handle(id).result({ timeoutMs: 10_000 });
    const wrongWait = producer.client
      .handle(id, { queue: 'elsewhere' })
      .result({ timeoutMs: 1_500 })
      .catch((error: unknown) => error);
    await subscribed(right.doneChannel);
    await subscribed(wrong.doneChannel);

    await redis.set(right.result(id), JSON.stringify({ ok: true, value: 'from default' }));
    await redis.publish(right.doneChannel, `c:${id}`);

    await expect(rightWait).resolves.toBe('from default');
    await expect(wrongWait).resolves.toBeInstanceOf(TaskTimeoutError);
  });

  it('a wait on partition 1 ignores partition 0’s completion of the same id', async () => {
    const id = randomUUID();
    const zero = producer.keys;
    const one = new QueueKeys(prefix, 'default', 1);
    const zeroWait = producer.client.handle(id, { partition: 0 }).result({ timeoutMs: 10_000 });
    const oneWait = producer.client
      .handle(id, { partition: 1 })
      .result({ timeoutMs: 1_500 })
      .catch((error: unknown) => error);
    await subscribed(zero.doneChannel);
    await subscribed(one.doneChannel);

    await redis.publish(zero.doneChannel, `x:${id}`);

    await expect(zeroWait).rejects.toMatchObject({ code: 'TASK_CANCELLED' });
    await expect(oneWait).resolves.toBeInstanceOf(TaskTimeoutError);
  });
});

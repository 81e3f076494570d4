import { randomUUID } from 'node:crypto';
import { QueueKeys } from '../../lib/redis/keys';
import { resultSubscriberOf } from '../fixtures/result-subscriber';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, subscriberCount, waitFor } from '../utils/redis';

const outcome = <T>(promise: Promise<T>): Promise<T | unknown> => promise.catch((e: unknown) => e);

/*
 * Found while root-causing the cluster failure of e2e/result-waiting's 'keyed: answers from the
 * key state' under an early read of the task's state (15da4b6): a SUBSCRIBE (or UNSUBSCRIBE) the
 * waiter handed its results subscriber while that connection was in its handshake (status
 * 'connect': connected, ready check not answered) was written at once, since ioredis lets
 * commands allowed while Redis loads through then, ahead of the ready check's INFO and of what it
 * queued while connecting. Redis, the connection subscribed, refused the INFO; the ready check
 * failed, the connection was dropped, and everything queued on it was rejected with that reply
 * error, which the waiter read as Redis refusing the channel: a wait begun just before ended in
 * ResultChannelRefusedError. (Where the SUBSCRIBE came after the INFO, the UNSUBSCRIBEs queued
 * before it went after it: its channel unsubscribed under its wait.) The wait on the other
 * queue begins here from the ready check's own call, the moment that write happens.
 */
describe('result(): a wait begun while the results subscriber is in its handshake', () => {
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

  it('the wait begun before it and the one begun during it both get their results', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const other = new QueueKeys(prefix, 'elsewhere');
    const first = outcome(producer.client.handle(a).result({ timeoutMs: 10_000 }));
    const subscriber = resultSubscriberOf(producer);
    expect(subscriber.status).not.toBe('ready');
    const errors: string[] = [];
    subscriber.on('error', (error: Error) => errors.push(error.message));
    let second: Promise<unknown> | undefined;
    const readyCheck = subscriber.info.bind(subscriber) as (...args: unknown[]) => Promise<string>;
    subscriber.info = ((...args: unknown[]) => {
      second ??= outcome(producer.client.handle(b, { queue: 'elsewhere' }).result({ timeoutMs: 10_000 }));
      return readyCheck(...args);
    }) as typeof subscriber.info;

    const bothSubscribed = async () =>
      second !== undefined &&
      (await subscriberCount(redis, producer.keys.doneChannel)) === 1 &&
      (await subscriberCount(redis, other.doneChannel)) === 1;
    await waitFor(bothSubscribed, { timeoutMs: 3_000, description: 'both done channels subscribed' }).catch(
      () => undefined,
    );
    await redis.set(producer.keys.result(a), JSON.stringify({ ok: true, value: 'a' }));
    await redis.publish(producer.keys.doneChannel, `c:${a}`);
    await redis.set(other.result(b), JSON.stringify({ ok: true, value: 'b' }));
    await redis.publish(other.doneChannel, `c:${b}`);

    await expect(first).resolves.toBe('a');
    await expect(second).resolves.toBe('b');
    expect(errors).toEqual([]);
  });
});

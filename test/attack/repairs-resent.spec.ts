import { TaskNotFoundError } from '../../lib';
import { replyCuttingProxy, resentCall, type ReplyCuttingProxy } from '../fixtures/reply-cutting-proxy';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { useSpecRedis } from '../utils/spec-redis';
import { redisUrl } from '../utils/redis';

/**
 * Review finding: an operator's repair ran in Redis, its reply was lost with the connection, and
 * ioredis resent it once it reconnected. The resend found what the first execution had acted on
 * gone (the dead letter redriven or purged, the task removed) and said so: redrive() rejected with
 * TaskNotFoundError ('dead letter not found') for a dead letter it had put back in the queue,
 * remove() rejected ('queued or delayed task not found') for a task it had removed, a purge of
 * one id likewise. An operator told "not found" looks for a task that was dealt with, or acts
 * again. No worker runs here: what is queued stays queued.
 */
describe('attack: a redrive(), remove() or purge whose reply was lost and which ioredis resent', () => {
  const { prefix, redis } = useSpecRedis();
  let proxy: ReplyCuttingProxy;
  let producer: TestApp; // behind the proxy: its reply is lost, and its call resent
  let other: TestApp; // straight on Redis
  let warmUps = 0;

  const deadLetter = (id: string, key?: string) =>
    redis.xadd(
      other.keys.deadLetter,
      '*',
      'id',
      id,
      'n',
      'echo',
      'p',
      '"x"',
      'a',
      '3',
      'reason',
      'failed',
      ...(key ? ['k', key, 'g', '1'] : []),
    ) as Promise<string>;

  beforeEach(async () => {
    proxy = await replyCuttingProxy(redisUrl());
    producer = await startApp({ prefix, options: { worker: false, connection: { url: proxy.url } } });
    other = await startApp({ prefix, options: { worker: false } });
    // Redis knows the scripts before a reply is cut: a NOSCRIPT reply cut instead would mean the
    // first send never ran.
    // A task id of its own each time: a task redriven already is not redriven again.
    await other.client.redrive(await deadLetter(`warm-up-${++warmUps}`));
    await other.client.purgeDeadLetters({ ids: [await deadLetter('warm-up-purge')] });
    await other.client.remove((await other.client.enqueue('echo', 'warm-up')).id);
  });
  afterEach(async () => {
    await closeApps();
    await proxy.close();
  });

  const entriesOf = async (id: string) =>
    (await redis.xrange(other.keys.stream, '-', '+')).filter(([, f]) => f[f.indexOf('id') + 1] === id);

  it('redrive(): the resend answers the entry id the first send put the task under; it is queued once', async () => {
    const dead = await deadLetter('resent-redrive');
    const entryId = await resentCall(proxy, 'resent-redrive', () => producer.client.redrive(dead));
    expect((await entriesOf('resent-redrive')).map(([id]) => id)).toEqual([entryId]);
    expect(await redis.xlen(other.keys.deadLetter)).toBe(0);
    // A new call: the dead letter is gone.
    await expect(producer.client.redrive(dead)).rejects.toBeInstanceOf(TaskNotFoundError);
  });

  it('redrive() of a keyed task: the resend answers as the first did, the key holds that run', async () => {
    const dead = await deadLetter('resent-keyed', 'resent-key');
    const entryId = await resentCall(proxy, 'resent-key', () => producer.client.redrive(dead));
    expect(await redis.hmget(other.keys.keyState('resent-key'), 'state', 'id', 'mid')).toEqual([
      'queued',
      'resent-keyed',
      entryId,
    ]);
    expect(await entriesOf('resent-keyed')).toHaveLength(1);
  });

  it('remove(): the resend resolves as the first send removed it', async () => {
    const handle = await other.client.enqueue('echo', 'resent-remove');
    // The script's call alone holds the done channel (the listings read by remove() do not).
    await expect(resentCall(proxy, other.keys.doneChannel, () => producer.client.remove(handle.id))).resolves.toBe(
      undefined,
    );
    expect(await entriesOf(handle.id)).toHaveLength(0);
    await expect(producer.client.remove(handle.id)).rejects.toBeInstanceOf(TaskNotFoundError);
  });

  it('purgeDeadLetters() of one id: the resend answers 1, as the first send did', async () => {
    const dead = await deadLetter('resent-purge');
    const keep = await deadLetter('kept');
    // Of one partition, the purge sends its script call alone: the only request holding the id.
    await expect(resentCall(proxy, dead, () => producer.client.purgeDeadLetters({ ids: [dead] }))).resolves.toBe(1);
    expect((await redis.xrange(other.keys.deadLetter, '-', '+')).map(([id]) => id)).toEqual([keep]);
  });
});

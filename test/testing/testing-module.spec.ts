import { Injectable, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { QueueClient, Task } from 'nest-stream-queue';
import {
  cleanupPrefix,
  drain,
  StreamQueueTestingModule,
  TESTING_PREFIX,
  testPrefix,
  type StreamQueueTestingOptions,
} from 'nest-stream-queue/testing';
import { QueueKeys } from '../../lib/redis/keys';
import { closeAll, createRedis, redisUrl } from '../utils/helpers';

@Injectable()
class EchoTasks {
  @Task('echo')
  echo(payload: string): string {
    return payload;
  }
}

@Module({ providers: [EchoTasks] })
class EchoModule {}

const boot = async (options: Partial<StreamQueueTestingOptions> = {}): Promise<TestingModule> =>
  (
    await Test.createTestingModule({
      imports: [
        StreamQueueTestingModule.forRoot({ connection: { url: redisUrl() }, resultTtlMs: 60_000, ...options }),
        EchoModule,
      ],
    }).compile()
  ).init();

describe('StreamQueueTestingModule', () => {
  const redis = createRedis();
  afterAll(closeAll);

  const keysUnder = (prefix: string) => redis.keys(`{${prefix}:*`);

  it('gives each app a prefix of its own and deletes its keys when the app closes', async () => {
    const [a, b] = await Promise.all([boot(), boot()]);
    const [prefixA, prefixB] = [a.get<string>(TESTING_PREFIX), b.get<string>(TESTING_PREFIX)];
    expect(prefixA).not.toBe(prefixB);

    const handle = await a.get(QueueClient).enqueue('echo', 'kept result');
    await expect(handle.result({ timeoutMs: 10_000 })).resolves.toBe('kept result');
    await drain(a, { timeoutMs: 10_000 });
    expect((await keysUnder(prefixA)).length).toBeGreaterThan(0);

    await a.close();
    await expect(keysUnder(prefixA)).resolves.toEqual([]);
    // The other app's keys are its own: closing `a` left them alone.
    await b.get(QueueClient).enqueue('echo', 'b', { delayMs: 3_600_000 });
    await expect(keysUnder(prefixB)).resolves.not.toEqual([]);
    await b.close();
    await expect(keysUnder(prefixB)).resolves.toEqual([]);
  });

  // Two apps on one prefix the caller gave (a producer and a worker, or one prefix a whole file
  // shares): the prefix is not the module's to delete, the keys of the other app are under it.
  it('with a prefix given by the caller, closing one app leaves the keys of another on it', async () => {
    const prefix = testPrefix();
    const [a, b] = await Promise.all([boot({ prefix }), boot({ prefix })]);
    try {
      await b.get(QueueClient).enqueue('echo', 'b', { key: 'of-b', delayMs: 3_600_000 });
      const keys = new QueueKeys(prefix, 'default');
      const ofB = [keys.stream, keys.delayed, keys.keyState('of-b')];
      await expect(keysUnder(prefix)).resolves.toEqual(expect.arrayContaining(ofB));

      await a.close();
      await expect(keysUnder(prefix)).resolves.toEqual(expect.arrayContaining(ofB));
      await expect(b.get(QueueClient).status('of-b')).resolves.toMatchObject({ state: 'delayed' });
    } finally {
      await Promise.all([a.close(), b.close()]);
      await cleanupPrefix(redis, prefix);
    }
  });

  it('cleanup: true deletes a given prefix at close, cleanup: false keeps a chosen one', async () => {
    const given = testPrefix();
    const [deletes, keeps] = await Promise.all([boot({ prefix: given, cleanup: true }), boot({ cleanup: false })]);
    const chosen = keeps.get<string>(TESTING_PREFIX);
    try {
      await deletes.get(QueueClient).enqueue('echo', 'later', { delayMs: 3_600_000 });
      await keeps.get(QueueClient).enqueue('echo', 'later', { delayMs: 3_600_000 });
      await Promise.all([deletes.close(), keeps.close()]);
      await expect(keysUnder(given)).resolves.toEqual([]);
      await expect(keysUnder(chosen)).resolves.toContain(new QueueKeys(chosen, 'default').delayed);
    } finally {
      await Promise.all([deletes.close(), keeps.close()]);
      await cleanupPrefix(redis, chosen);
    }
  });

  // Review finding: the close also deleted every plain key starting with the prefix's text, so
  // prefix 'sq' took a user's 'sqlite-cache' with it. Only the keys the library writes go.
  it('cleanup: true deletes the queue keys of the prefix and no key that merely starts like it', async () => {
    const prefix = testPrefix();
    const neighbours = [`${prefix}lite-cache`, `${prefix}:session`, `${prefix}-other`, `{${prefix}-x:default}:stream`];
    await Promise.all(neighbours.map((key) => redis.set(key, 'not the queue library')));
    const app = await boot({ prefix, cleanup: true });
    try {
      const client = app.get(QueueClient);
      await expect((await client.enqueue('echo', 'now')).result({ timeoutMs: 10_000 })).resolves.toBe('now');
      await client.enqueue('echo', 'later', { key: 'k', delayMs: 3_600_000 });
      await expect(keysUnder(prefix)).resolves.toEqual(
        expect.arrayContaining([
          new QueueKeys(prefix, 'default').delayed,
          new QueueKeys(prefix, 'default').keyState('k'),
        ]),
      );
      await app.close();
      await expect(keysUnder(prefix)).resolves.toEqual([]);
      await expect(redis.exists(...neighbours)).resolves.toBe(neighbours.length);
    } finally {
      await app.close();
      await redis.del(...neighbours);
    }
  });

  it('refuses a cleanup that is not a boolean', () => {
    expect(() =>
      StreamQueueTestingModule.forRoot({ connection: { url: redisUrl() }, cleanup: 'yes' as unknown as boolean }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', option: 'cleanup' }));
  });
});

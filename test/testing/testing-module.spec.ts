import { Injectable, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { QueueClient, Task } from 'nest-stream-queue';
import { drain, StreamQueueTestingModule, TESTING_PREFIX } from 'nest-stream-queue/testing';
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

const boot = async (): Promise<TestingModule> =>
  (
    await Test.createTestingModule({
      imports: [StreamQueueTestingModule.forRoot({ connection: { url: redisUrl() }, resultTtlMs: 60_000 }), EchoModule],
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
});

// The complete spec shown in README.md, "Testing your app" (CI checks the two stay identical).
// #region spec
import { Injectable, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { QueueClient, Task } from 'nest-stream-queue';
import { createTestRedis, drain, StreamQueueTestingModule, type TestRedis } from 'nest-stream-queue/testing';

@Injectable()
class Mailer {
  readonly sent: string[] = [];
}

@Injectable()
class WelcomeTasks {
  constructor(private readonly mailer: Mailer) {}

  @Task('welcome')
  welcome(payload: { to: string }): void {
    this.mailer.sent.push(payload.to);
  }
}

@Module({ providers: [Mailer, WelcomeTasks] })
class WelcomeModule {}

describe('welcome emails', () => {
  let redis: TestRedis;
  let app: TestingModule;

  beforeAll(async () => {
    redis = await createTestRedis(); // a container if Docker answers, else a redis-server child
  });
  afterAll(() => redis.stop());

  beforeEach(async () => {
    app = await Test.createTestingModule({
      // A prefix of its own for this app, deleted by app.close().
      imports: [StreamQueueTestingModule.forRoot({ connection: { url: redis.url } }), WelcomeModule],
    }).compile();
    await app.init();
  });
  afterEach(() => app.close());

  it('sends one email per sign-up', async () => {
    const client = app.get(QueueClient);
    await client.enqueue('welcome', { to: 'ada@example.com' });
    await client.enqueue('welcome', { to: 'alan@example.com' });

    await drain(app, { timeoutMs: 5_000 }); // every queue empty, nothing running or due

    expect(app.get(Mailer).sent.sort()).toEqual(['ada@example.com', 'alan@example.com']);
  });
});
// #endregion

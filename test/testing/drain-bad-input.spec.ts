import { Test, type TestingModule } from '@nestjs/testing';
import { ApplicationClosedError, InvalidOptionError, QueueClient } from 'nest-stream-queue';
import { drain, StreamQueueTestingModule } from 'nest-stream-queue/testing';
import { ProbeModule } from '../fixtures/probe.module';
import { Probe } from '../fixtures/probe';
import { sleep } from '../utils/helpers';
import { redisUrl } from '../utils/redis';

/**
 * drain(app, options) took any options: `timeoutMs: NaN` (or a string) never compared past the
 * deadline, so with a task that never runs it waited for ever instead of rejecting; after
 * app.close() it rejected with ioredis's bare "Connection is closed.". Review findings; each failed.
 */
describe('drain(app) with bad options, or a closed app', () => {
  let app: TestingModule;
  beforeAll(async () => {
    app = await Test.createTestingModule({
      imports: [
        StreamQueueTestingModule.forRoot({ connection: { url: redisUrl() }, worker: false }),
        ProbeModule.register(new Probe()),
      ],
    }).compile();
    await app.init();
    await app.get(QueueClient).enqueue('echo', 'never run: no worker');
  });
  afterAll(() => app.close());

  const settled = (promise: Promise<unknown>) =>
    Promise.race([
      promise.then(
        () => 'resolved',
        (e: unknown) => e,
      ),
      sleep(1_000).then(() => 'still waiting'),
    ]);

  it.each([
    ['timeoutMs', Number.NaN],
    ['timeoutMs', '100'],
    ['timeoutMs', -1],
    ['intervalMs', Number.NaN],
    ['intervalMs', -5],
  ])('refuses %s %p, naming it', async (option, value) => {
    const outcome = await settled(drain(app, { timeoutMs: 100, [option]: value }));
    expect(outcome).toBeInstanceOf(InvalidOptionError);
    expect(outcome).toMatchObject({ option });
  });

  it('rejects with ApplicationClosedError once the app is closed', async () => {
    await app.close();
    await expect(settled(drain(app, { timeoutMs: 100 }))).resolves.toBeInstanceOf(ApplicationClosedError);
  });
});

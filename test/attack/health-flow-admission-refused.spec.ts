import { TerminusModule } from '@nestjs/terminus';
import { StreamQueueHealthIndicator, StreamQueueHealthModule } from '../../lib/terminus';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { ledger, RemovalTasksModule } from '../fixtures/removal-tasks';
import { closeApps, logger, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';
import { healthDown, healthUpAgain } from '../fixtures/health-check';
import { LAST_ENTRY_ID } from '../fixtures/last-entry-id';

/*
 * A waiting flow task whose admission the stream refuses (out of ids: anyone with Redis access
 * can XSETID it) is caught where it is tried (includes/flow.lua's admissionAppend: the settle or
 * promotion that admits it goes on) and tried again by a wake a second later, for as long as the
 * stream refuses. Each try answered as a promotion that succeeded: nothing was logged, the task
 * waited for good, and the check said up (a review finding; it failed).
 */
describe('health: a worker whose waiting flow task is refused its admission', () => {
  const redis = createRedis();
  const prefix = randomPrefix();
  afterEach(() => closeApps());
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it('is down once the admission has been refused for 5 s, naming the queue and the error; up again once it is admitted', async () => {
    ledger.reset();
    const t = await startApp({ prefix, imports: [RemovalTasksModule, StreamQueueHealthModule, TerminusModule] });
    const indicator = t.app.get(StreamQueueHealthIndicator);
    // The one slot held, so the second waits in the room.
    await t.client.enqueue('removal.one', { wait: 'first' });
    await waitFor(() => ledger.starts.length === 1, { description: 'the first run' });
    const waiting = await t.client.enqueue('removal.one', { value: 'second' });
    expect(await t.client.counts()).toMatchObject({ waitingForSlot: 1 });
    await redis.xsetid(t.keys.stream, LAST_ENTRY_ID);
    const warned = logger.warnings().length;
    // The first run settles: its release admits the second, which the stream refuses.
    ledger.latch('first').open();
    const down = await healthDown(indicator);
    expect(down.queue).toMatchObject({ redis: 'up', lease: 'held', consumers: { default: true } });
    expect(down.queue.message).toMatch(
      /^promotions of queue "default" failing for \d+ ms: .*exhausted the last possible ID/,
    );
    expect(Number(/failing for (\d+) ms/.exec(String(down.queue.message))![1])).toBeGreaterThanOrEqual(5_000);
    expect(logger.warnings().slice(warned).join('\n')).toMatch(/"default".*exhausted the last possible ID/);
    expect(ledger.starts).toHaveLength(1);
    expect(await t.client.counts()).toMatchObject({ waitingForSlot: 1 });

    // The stream takes ids again (made anew, with its group): the task is admitted and runs.
    await redis.multi().del(t.keys.stream).xgroup('CREATE', t.keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM').exec();
    await expect(waiting.result({ timeoutMs: 10_000 })).resolves.toBe('second');
    await healthUpAgain(indicator);
  }, 45_000);
});

import { TerminusModule } from '@nestjs/terminus';
import { StreamQueueHealthIndicator, StreamQueueHealthModule } from '../../lib/terminus';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { promoteScript } from '../../lib/scripts/promote.script';
import { HostileTaskModule } from '../fixtures/hostile-tasks';
import { ledger, RemovalTasksModule } from '../fixtures/removal-tasks';
import { closeApps, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';
import { healthDown } from '../fixtures/health-check';

/** The last id a stream can have: once it is the stream's last id, every `XADD *` is refused. */
const LAST_ID = '18446744073709551615-18446744073709551615';
/** includes/rate.lua's RATE_MORE: the wake a refused admission leaves, a second on. */
const RATE_MORE = '\x02';
/**
 * How soon the check is up again once the stream takes ids and the task is admitted: a refused
 * admission is tried again every second (includes/flow.lua FEED_RETRY_MS), so a few of those
 * and a check.
 */
const UP_WITHIN_MS = 5_000;

/*
 * A worker that saw a waiting flow task's admission refused for 5 s (health-flow-admission-
 * refused.spec) kept reporting it, down, until it served a due wake itself without a refusal or
 * found no wake scheduled. In a fleet another worker may serve the wake that admits the task,
 * and with a rate-limited task waiting for its window a wake stays scheduled (here a minute on):
 * the first worker stayed down long after the stream took ids again and the task ran (a review
 * finding; it failed). The streak is now the partition's, in Redis (flow:refused, written at each
 * refused try and gone a few tries after the last), so every worker of the queue reads the same.
 */
describe('health: a refused flow admission that another worker admits once the stream takes ids', () => {
  const redis = createRedis();
  const prefix = randomPrefix();
  afterEach(() => closeApps());
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  const imports = () => [
    RemovalTasksModule,
    HostileTaskModule.register('rated', { rateLimit: { max: 1, perMs: 60_000 } }),
    StreamQueueHealthModule,
    TerminusModule,
  ];

  /** Resolves once the check is up, within UP_WITHIN_MS; fails naming what it last said. */
  async function upWithin(indicator: StreamQueueHealthIndicator): Promise<void> {
    let last: { status: string; message?: unknown } | undefined;
    await waitFor(
      async () => {
        last = (await indicator.isHealthy('queue')).queue;
        return last.status === 'up';
      },
      { description: 'the check up again', timeoutMs: UP_WITHIN_MS },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; the check said: ${JSON.stringify(last?.message)}`);
    });
  }

  it('every worker is up again within a few retry intervals, beside a rate limit wake scheduled a minute on', async () => {
    ledger.reset();
    const t = await startApp({ prefix, imports: imports() });
    // Another worker of the queue, which may make the tries too.
    const other = await startApp({ prefix, imports: imports() });
    const indicator = t.app.get(StreamQueueHealthIndicator);
    const otherIndicator = other.app.get(StreamQueueHealthIndicator);
    // A rated run starts; the next waits for the window, its wake a minute on.
    const rated = await t.client.enqueue('rated', 'first');
    await expect(rated.result({ timeoutMs: 5_000 })).resolves.toBe('first');
    await t.client.enqueue('rated', 'second');
    await waitFor(async () => (await redis.zrange(t.keys.flow.wake, 0, -1)).includes('rated'), {
      description: "the rated task's wake",
    });

    // The one slot held, so the second waits in the room; the stream out of ids refuses it.
    await t.client.enqueue('removal.one', { wait: 'first' });
    await waitFor(() => ledger.starts.length === 1, { description: 'the first run' });
    const waiting = await t.client.enqueue('removal.one', { value: 'second' });
    await redis.xsetid(t.keys.stream, LAST_ID);
    ledger.latch('first').open();
    const refused = /^promotions of queue "default" failing for \d+ ms: .*exhausted the last possible ID/;
    expect((await healthDown(indicator)).queue.message).toMatch(refused);
    expect((await otherIndicator.isHealthy('queue')).queue.message).toMatch(refused);

    // A worker's promotion serves the retry's wake once the stream takes ids again, in one step
    // with the operator's fix (MULTI): neither worker serves a due wake after it.
    const commands = t.app.get(RedisConnections).commands;
    const fixed = commands
      .multi()
      .del(t.keys.stream)
      .xgroup('CREATE', t.keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM')
      .zadd(t.keys.flow.wake, 'XX', 0, RATE_MORE);
    await promoteScript(t.keys, { members: [], limit: 1_000, deadLetterMaxLen: 1_000, stateTtlMs: 60_000, wakes: true })
      .queueOn(fixed)
      .exec();
    const fixedAt = Date.now();
    await expect(waiting.result({ timeoutMs: 10_000 })).resolves.toBe('second');
    expect(await redis.zrange(t.keys.flow.wake, 0, -1)).toEqual(['rated']);

    await upWithin(indicator);
    await upWithin(otherIndicator);
    expect(Date.now() - fixedAt).toBeLessThan(UP_WITHIN_MS);
  }, 45_000);
});

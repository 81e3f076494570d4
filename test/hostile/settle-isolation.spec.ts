import type { Logger } from '@nestjs/common';
import { Delivery } from '../../lib/consumer/delivery';
import type { Outcome } from '../../lib/consumer/outcome';
import type { QueueContext } from '../../lib/consumer/queue-context';
import { Settler } from '../../lib/consumer/settler';
import { QueueKeys } from '../../lib/redis/keys';
import { defineScripts } from '../../lib/redis/scripts';
import { resolveConfig } from '../../lib/stream-queue.config';
import { StreamQueueEvents } from '../../lib/stream-queue.events';
import { resolveTaskOptions, type ResolvedTaskOptions } from '../../lib/task-options';
import type { TaskDefinition } from '../../lib/task.registry';
import { parseEntry, type TaskMessage } from '../../lib/task/task-message';
import { RecordingLogger } from '../fixtures/recording-logger';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, redisUrl } from '../utils/redis';

const GROUP = 'workers';
const CONSUMER = 'me';

function definition(name: string, options: Partial<ResolvedTaskOptions> = {}): TaskDefinition {
  return {
    name,
    location: `Spec.${name}`,
    options: { ...resolveTaskOptions(name, { maxAttempts: 2 }, 60_000), ...options },
    handler: () => undefined,
  };
}

// Issue 15 item 10: building one outcome's settle must not be able to fail the others.
describe('Settler isolates each outcome', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  defineScripts(redis);
  const keys = new QueueKeys(prefix, 'q');
  const logs = new RecordingLogger();

  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  /** XADDs `fields` and reads them as this consumer: a delivery it owns. */
  async function delivered(fields: string[]): Promise<Delivery> {
    await redis.xadd(keys.stream, '*', ...fields);
    const reply = (await redis.xreadgroup('GROUP', GROUP, CONSUMER, 'COUNT', 1, 'STREAMS', keys.stream, '>')) as [
      string,
      [string, string[]][],
    ][];
    const [[entryId, raw]] = reply[0][1];
    return new Delivery(parseEntry(entryId, raw) as TaskMessage);
  }

  it('an outcome whose arguments cannot be built is dead-lettered with its reason; the rest settle', async () => {
    await redis.xgroup('CREATE', keys.stream, GROUP, '0', 'MKSTREAM');
    const ctx: QueueContext = {
      queue: 'q',
      keys,
      group: GROUP,
      consumer: CONSUMER,
      redis,
      config: resolveConfig({ connection: { url: redisUrl() }, prefix }),
      events: new StreamQueueEvents(),
      logger: logs as unknown as Logger,
      inFlight: undefined as never,
      slots: undefined as never,
      delayedAdded: () => undefined,
      leaseHeld: () => true,
    };
    // A schedule no cron parser accepts: computing the successor throws, as a hostile due time did.
    const broken = definition('broken', { queue: 'q', schedule: { cron: 'not a cron', timezone: undefined } });
    await redis.hset(keys.keyState('periodic:broken'), 'gen', '1', 'state', 'running');
    const good = await delivered(['id', 'good', 'n', 'fine', 'p', '1']);
    const bad = await delivered([
      'id',
      'bad',
      'n',
      'broken',
      'p',
      'null',
      'k',
      'periodic:broken',
      'g',
      '1',
      'd',
      '1700000000000',
    ]);
    const flaky = await delivered(['id', 'flaky', 'n', 'fine', 'p', '2']);
    const fine = definition('fine', { queue: 'q' });
    const outcomes: Outcome[] = [
      { kind: 'completed', delivery: good, definition: fine, result: '{"ok":true,"value":1}', resultTtlMs: 60_000 },
      { kind: 'completed', delivery: bad, definition: broken, result: '{"ok":true}', resultTtlMs: 60_000 },
      { kind: 'failed', delivery: flaky, definition: fine, error: { name: 'Error', message: 'try again' } },
    ];

    await expect(new Settler(ctx).settle(outcomes)).resolves.toEqual([]);

    expect(await redis.get(keys.result('good'))).toBe('{"ok":true,"value":1}');
    expect(await redis.zcard(keys.delayed)).toBe(1); // flaky's retry
    const letters = await redis.xrange(keys.deadLetter, '-', '+');
    expect(letters).toHaveLength(1);
    const letter = Object.fromEntries(letters[0][1].flatMap((v, i, a) => (i % 2 ? [] : [[v, a[i + 1]]])));
    expect(letter).toMatchObject({ id: 'bad', n: 'broken' });
    expect(letter.reason).toMatch(/could not be settled.*Invalid characters/);
    expect(await redis.xpending(keys.stream, GROUP)).toEqual([0, null, null, null]);
    expect(logs.lines.some((l) => l.level === 'error' && /bad/.test(l.message))).toBe(true);
  });
});

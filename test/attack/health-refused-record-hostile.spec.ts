import { TerminusModule } from '@nestjs/terminus';
import { StreamQueueHealthIndicator, StreamQueueHealthModule } from '../../lib/terminus';
import { TERMINAL_UNSAFE } from '../../lib/terminal-unsafe';
import { RemovalTasksModule } from '../fixtures/removal-tasks';
import { closeApps, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

/*
 * The health check reads each partition's streak of refused flow admissions from flow:refused
 * (lib/terminus/refused-admissions.ts), which anyone with Redis access can write. A well-formed
 * record without a TTL (written by hand, or restored without one) said "failing for N ms" on
 * every check of every worker of the queue for good, though no admission was refused and tasks
 * ran: no try renews it and nothing ends it, so restarting the workers changed nothing. And a
 * record's error text went into the message as it was, however long, control characters and all.
 * The check now takes a record for a streak only while its TTL is one flow.lua gives it (at most
 * 3 s: a live streak's), and writes its text cut and escaped, as a log line quotes text read
 * from Redis. A review finding; the spec failed.
 */
describe('health: a hand-written flow:refused record', () => {
  const redis = createRedis();
  const prefix = randomPrefix();
  let record: string | undefined;
  afterEach(async () => {
    await closeApps();
    if (record) await redis.del(record);
  });
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  const start = async () => {
    const t = await startApp({ prefix, imports: [RemovalTasksModule, StreamQueueHealthModule, TerminusModule] });
    const indicator = t.app.get(StreamQueueHealthIndicator);
    record = t.keys.flow.refused;
    expect((await indicator.isHealthy('queue')).queue.status).toBe('up');
    return { t, indicator };
  };

  it.each([
    ['without a TTL', [] as Array<string | number>],
    ['with a TTL of an hour', ['PX', 3_600_000]],
  ])('a record spanning a minute %s is no streak: the check stays up', async (_, ttl) => {
    const { t, indicator } = await start();
    await redis.set(
      t.keys.flow.refused,
      '1000 61000 60 ERR the stream has exhausted the last possible ID',
      ...(ttl as []),
    );
    const result = (await indicator.isHealthy('queue')).queue;
    expect({ status: result.status, message: result.message }).toEqual({ status: 'up', message: undefined });
  });

  it("a live record's error text is cut and escaped in the message", async () => {
    const { t, indicator } = await start();
    const text = `ERR \u001b[2J\nforged line \u202e${'x'.repeat(10_000)}`;
    await redis.set(t.keys.flow.refused, `1000 61000 60 ${text}`, 'PX', 3_000);
    const result = (await indicator.isHealthy('queue')).queue;
    expect(result.status).toBe('down');
    const message = String(result.message);
    expect(message).toMatch(
      /^promotions of queue "default" failing for 60000 ms: .*ERR \\u001b\[2J\\u000aforged line \\u202ex/,
    );
    expect(message.match(TERMINAL_UNSAFE)).toBeNull();
    expect(message.length).toBeLessThan(600);
  });
});

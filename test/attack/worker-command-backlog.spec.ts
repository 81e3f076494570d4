import { RedisConnections } from '../../lib/redis/redis-connections';
import { closeApps, startApp } from '../fixtures/test-app';
import { closeAll, createRedis, randomPrefix } from '../utils/redis';

/*
 * A worker's command connection is watched for a half-open socket (reply-watchdog.ts): a PING
 * unanswered for a lease drops it, and ioredis resends what was unanswered. A connection that is
 * only busy answers its PING late too: Redis answers a connection's commands in order, so a
 * PING sent behind a bulk enqueue (one pipeline of enqueue-many calls) waits for all of them.
 * Dropping it then resent calls Redis had already run: a plain XADD resent is a task enqueued
 * twice. Here the backlog is scripts that each count their run and take a few ms, each large
 * enough to be read alone, so their replies come back steadily while the PING waits.
 */
describe('attack: a worker whose command connection is busy past a lease', () => {
  const redis = createRedis();
  afterEach(closeApps);
  afterAll(closeAll);

  it('is not dropped while replies keep coming, so nothing it sent runs twice', async () => {
    const prefix = randomPrefix();
    const worker = await startApp({ prefix, options: { leaseMs: 300, heartbeatIntervalMs: 100 } });
    const commands = worker.app.get(RedisConnections).commands;
    let closes = 0;
    commands.on('close', () => closes++);
    const counter = `${prefix}:backlog-runs`;
    const padding = 'x'.repeat(20_000);
    const calls = 200;
    const backlog = (on: typeof commands) => {
      const pipeline = on.pipeline();
      for (let i = 0; i < calls; i++) {
        pipeline.eval("redis.call('INCR', KEYS[1]); for i = 1, 3000000 do end; return #ARGV[1]", 1, counter, padding);
      }
      return pipeline.exec();
    };
    // The same backlog on a connection nobody watches outlasts the 300 ms lease twice over.
    const started = performance.now();
    await backlog(redis);
    expect(performance.now() - started).toBeGreaterThan(600);
    await redis.del(counter);

    const replies = (await backlog(commands)) ?? [];
    expect(replies.filter(([error]) => error).map(([error]) => String(error))).toEqual([]);
    expect(Number(await redis.get(counter))).toBe(calls);
    expect(closes).toBe(0);
    await redis.del(counter);
  });
});

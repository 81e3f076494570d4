import { provideTestRedis, type SuiteRedis } from './test-redis';

/**
 * Jest global setup: provides the suite's Redis (see test-redis.ts for the order) and exports it as
 * REDIS_URL, which the specs read through `redisUrl()`. Runs in Jest's parent process; with
 * `--runInBand` the specs run there too and see the variable.
 */

/** Shared with global-teardown.ts: Jest runs both in the same process, and only they see it. */
export interface SuiteRedisGlobal {
  __SQ_SUITE_REDIS__?: { redis: SuiteRedis; previousUrl: string | undefined };
}

export default async function globalSetup(): Promise<void> {
  const previousUrl = process.env.REDIS_URL;
  const redis = await provideTestRedis();
  process.env.REDIS_URL = redis.url;
  (globalThis as SuiteRedisGlobal).__SQ_SUITE_REDIS__ = { redis, previousUrl };
  process.stderr.write(`\n[test redis] ${redis.url} (from ${redis.source})\n`);
}

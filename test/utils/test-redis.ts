import Redis from 'ioredis';
import { createTestRedis, type TestRedis } from '../../lib/testing/create-test-redis';

/**
 * Finds the Redis the suite runs against, in this order:
 * 1. REDIS_URL, when set (CI services, a developer's own server); it must answer PING;
 * 2. else the testing kit's createTestRedis(): a `redis:7` container when a Docker engine answers
 *    (`@testcontainers/redis`), else a private `redis-server` child on a free port.
 * A Redis merely listening on the default port is never picked up silently: without REDIS_URL the
 * suite brings its own, so runs are self-contained and never touch someone else's data.
 */

export type TestRedisSource = 'REDIS_URL' | TestRedis['source'];

export interface SuiteRedis extends Omit<TestRedis, 'source'> {
  readonly source: TestRedisSource;
}

export async function provideTestRedis(): Promise<SuiteRedis> {
  const envUrl = process.env.REDIS_URL;
  if (envUrl) {
    await assertAnswers(envUrl);
    return { url: envUrl, source: 'REDIS_URL', stop: async () => undefined };
  }
  return createTestRedis();
}
async function assertAnswers(url: string): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let socketError: unknown;
  client.on('error', (err: unknown) => (socketError = err));
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    // The socket error (ECONNREFUSED, ENOTFOUND, …) says more than ioredis's "Connection is closed".
    throw new Error(
      `REDIS_URL=${url} does not answer PING (${message(socketError ?? err)}). ` +
        'Start that Redis, or unset REDIS_URL to let the suite start its own.',
    );
  } finally {
    client.disconnect();
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

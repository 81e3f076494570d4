import Redis from 'ioredis';
import { startRedisServer } from './redis-server';

/**
 * Finds the Redis the suite runs against, in this order:
 * 1. REDIS_URL, when set (CI services, a developer's own server); it must answer PING;
 * 2. a `redis:7` container, when a Docker engine answers (testcontainers);
 * 3. a private `redis-server` child on a free port.
 * A Redis merely listening on the default port is never picked up silently: without REDIS_URL the
 * suite brings its own, so runs are self-contained and never touch someone else's data.
 */

export type TestRedisSource = 'REDIS_URL' | 'docker' | 'redis-server';

export interface TestRedis {
  url: string;
  source: TestRedisSource;
  /** Stops what was started; a no-op for REDIS_URL. */
  stop(): Promise<void>;
}

const DOCKER_PROBE_MS = 5_000;
const REDIS_IMAGE = 'redis:7';
const REDIS_CONTAINER_PORT = 6379;

export async function provideTestRedis(): Promise<TestRedis> {
  const envUrl = process.env.REDIS_URL;
  if (envUrl) {
    await assertAnswers(envUrl);
    return { url: envUrl, source: 'REDIS_URL', stop: async () => undefined };
  }
  const failures: string[] = [];
  const container = await startContainer().catch((err: unknown) => {
    failures.push(`Docker: ${message(err)}`);
    return undefined;
  });
  if (container) return container;
  try {
    const server = await startRedisServer();
    return { url: server.url, source: 'redis-server', stop: () => server.stop() };
  } catch (err) {
    failures.push(`redis-server: ${message(err)}`);
  }
  throw new Error(
    'No Redis for the test suite. Tried, in order:\n' +
      ['REDIS_URL: not set', ...failures].map((f) => `  - ${f}`).join('\n') +
      '\nFix one of: export REDIS_URL=redis://host:port; start a Docker engine; or install redis-server ' +
      '(Debian/Ubuntu: apt-get install redis-server, macOS: brew install redis) so it is on PATH.',
  );
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

async function startContainer(): Promise<TestRedis> {
  // Loaded lazily: most runs have no engine, and the module is heavy.
  const { getContainerRuntimeClient, GenericContainer, Wait } = await import('testcontainers');
  const probe = getContainerRuntimeClient();
  probe.catch(() => undefined); // a late rejection after the timeout below must not surface as unhandled
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer from a Docker engine in ${DOCKER_PROBE_MS} ms`)),
      DOCKER_PROBE_MS,
    );
    timer.unref();
  });
  try {
    await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
  const container = await new GenericContainer(REDIS_IMAGE)
    .withExposedPorts(REDIS_CONTAINER_PORT)
    .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .start();
  return {
    url: `redis://${container.getHost()}:${container.getMappedPort(REDIS_CONTAINER_PORT)}`,
    source: 'docker',
    stop: async () => {
      await container.stop();
    },
  };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

import { request } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { startRedisServer } from './redis-server';

/**
 * A private Redis for a test run: a `redis:7` container through `@testcontainers/redis` when a
 * Docker engine answers (and that optional package is installed), else a `redis-server` child
 * process on a free port (it must be on PATH).
 * @publicApi
 */
export interface TestRedis {
  readonly url: string;
  /** What was started: `docker` (a container) or `redis-server` (a child process). */
  readonly source: 'docker' | 'redis-server';
  /** Stops the container or process and removes what it wrote. */
  stop(): Promise<void>;
}

/** @publicApi */
export interface CreateTestRedisOptions {
  /** `false` skips the Docker probe and starts a `redis-server` child at once. Default: `true`. */
  docker?: boolean;
  /** The container image. Default `redis:7`. */
  image?: string;
}

/** The subset of `@testcontainers/redis` used here, so no emitted type names the optional package. */
interface RedisContainerModule {
  RedisContainer: new (image: string) => {
    withCommand(command: string[]): { start(): Promise<{ getConnectionUrl(): string; stop(): Promise<unknown> }> };
  };
}

const DOCKER_PROBE_MS = 2_000;
const DEFAULT_IMAGE = 'redis:7';
const CONTAINERS_PACKAGE = '@testcontainers/redis';

/**
 * Starts a private Redis (see `TestRedis`); call `stop()` when the run ends, typically in `afterAll`
 * or in Jest's `globalTeardown`.
 * @publicApi
 */
export async function createTestRedis(options: CreateTestRedisOptions = {}): Promise<TestRedis> {
  const failures: string[] = [];
  if (options.docker !== false && (await dockerAnswers())) {
    try {
      return await startContainer(options.image ?? DEFAULT_IMAGE);
    } catch (error) {
      failures.push(`Docker answers, but no container: ${message(error)}`);
    }
  }
  try {
    const server = await startRedisServer();
    return { url: server.url, source: 'redis-server', stop: () => server.stop() };
  } catch (error) {
    failures.push(`redis-server: ${message(error)}`);
  }
  throw new Error(
    `createTestRedis: no Redis could be started (${failures.join('; ')}). Start a Docker engine and ` +
      `install ${CONTAINERS_PACKAGE}, or put redis-server on PATH ` +
      '(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis).',
  );
}

async function startContainer(image: string): Promise<TestRedis> {
  let loaded: RedisContainerModule;
  try {
    // Loaded only now: an optional peer, heavy, and useless without an engine.
    loaded = (await import(CONTAINERS_PACKAGE)) as RedisContainerModule;
  } catch {
    throw new Error(`${CONTAINERS_PACKAGE} is not installed`);
  }
  const container = await new loaded.RedisContainer(image)
    .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
    .start();
  return {
    url: container.getConnectionUrl(),
    source: 'docker',
    stop: async () => void (await container.stop()),
  };
}

/**
 * True when a Docker engine answers `GET /_ping` on DOCKER_HOST (unix socket or tcp), or, with
 * DOCKER_HOST unset, on one of the usual sockets. Raw HTTP: no client library is loaded to find out.
 */
export async function dockerAnswers(): Promise<boolean> {
  const host = process.env.DOCKER_HOST;
  const candidates = host
    ? [host]
    : [
        'unix:///var/run/docker.sock',
        `unix://${join(homedir(), '.docker', 'run', 'docker.sock')}`,
        ...(process.env.XDG_RUNTIME_DIR ? [`unix://${join(process.env.XDG_RUNTIME_DIR, 'docker.sock')}`] : []),
      ];
  for (const candidate of candidates) if (await pings(candidate)) return true;
  return false;
}

function pings(dockerHost: string): Promise<boolean> {
  let target: { socketPath: string } | { host: string; port: number };
  if (dockerHost.startsWith('unix://')) target = { socketPath: dockerHost.slice('unix://'.length) };
  else if (dockerHost.startsWith('tcp://')) {
    const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
    target = { host: url.hostname, port: Number(url.port || 2375) };
  } else return Promise.resolve(false);
  return new Promise((resolve) => {
    const req = request({ ...target, path: '/_ping', timeout: DOCKER_PROBE_MS }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('error', () => resolve(false));
    req.once('timeout', () => req.destroy());
    req.end();
  });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

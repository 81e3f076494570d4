import type { Logger } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { RedisUnreachableError } from '../errors';
import { raceTimeout } from '../race-timeout';
import type { Topology } from './topology';

/** ioredis's own default connectTimeout. */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Node's longest timer: a longer one fires after 1 ms (ioredis truncates its own to this). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * @internal How long one attempt may take: the connection's connectTimeout (a cluster's
 * redisOptions'). 0 is ioredis's "no connect timeout": bootstrap keeps ioredis's default as its
 * bound (waiting 0 ms, every boot failed; none, a frozen Redis held it for good).
 */
export function connectTimeoutOf(redis: Redis | Cluster): number {
  const options = redis.options as { connectTimeout?: number; redisOptions?: { connectTimeout?: number } };
  const ms = options.connectTimeout ?? options.redisOptions?.connectTimeout;
  if (typeof ms !== 'number' || !(ms > 0)) return DEFAULT_CONNECT_TIMEOUT_MS;
  return Math.min(ms, MAX_TIMER_MS);
}

/** @internal How bootstrap waits for Redis (module options `retryAttempts`, `retryDelay`). */
export interface ReadinessOptions {
  readonly retryAttempts: number;
  readonly retryDelay: number;
  readonly logger: Logger;
  /** Applied to every error before its message is used (a failed AUTH carries the password). */
  readonly redact: (error: Error) => void;
  /**
   * Aborted when the module's init failed elsewhere (see RedisConnections.suspend): the wait ends
   * at once, rejecting with the abort's reason, no attempt or pause left to hold the process.
   */
  readonly signal?: AbortSignal;
}

/**
 * @internal Resolves once Redis answers on `commands`; otherwise tries again, logging each
 * attempt with the address, and finally throws a RedisUnreachableError saying where and why.
 * An attempt is a fresh connection that must pass ioredis's ready check (AUTH, then INFO): PING
 * is not in the commands a least-privilege ACL user needs, INFO is. `commands` itself keeps
 * reconnecting on ioredis's own schedule, so its readiness is awaited last.
 */
export async function awaitRedis(topology: Topology, options: ReadinessOptions): Promise<void> {
  const { retryAttempts, retryDelay, logger, signal } = options;
  const { commands, address } = topology;
  const attempts = retryAttempts + 1;
  for (let attempt = 1; ; attempt++) {
    try {
      signal?.throwIfAborted();
      // A frozen Redis accepts the connection and never answers the ready check: without a
      // bound, an attempt (and the bootstrap, and a close() that awaits it) never ends.
      const attemptMs = connectTimeoutOf(commands);
      await raceTimeout(
        untilAborted(
          (async () => {
            await (attempt === 1 ? firstOutcome(commands, topology) : topology.probe());
            await ready(commands);
          })(),
          signal,
        ),
        attemptMs,
        () => {
          throw new Error(`connected, but no answer to the ready check within ${attemptMs} ms`);
        },
      );
      logger.log(`Connected to Redis at ${address}.`);
      return;
    } catch (error) {
      // Stopped: the init failed elsewhere, and fails with that step's own error.
      if (signal?.aborted) throw signal.reason;
      options.redact(error as Error);
      const reason = (error as Error).message;
      // Closed meanwhile (the application gave up on its bootstrap): stop retrying.
      if (attempt >= attempts || commands.status === 'end') {
        throw new RedisUnreachableError(
          address,
          reason,
          `Redis at ${address} could not be reached after ${attempts} attempt${attempts === 1 ? '' : 's'} ` +
            `(retryAttempts ${retryAttempts}, retryDelay ${retryDelay} ms): ${reason}`,
        );
      }
      logger.warn(
        `Redis at ${address} is not reachable (attempt ${attempt} of ${attempts}): ${reason}. Retrying in ${retryDelay} ms.`,
      );
      await pause(retryDelay, signal);
    }
  }
}

/** @internal Settles as `promise` does, or rejects once `signal` is aborted (its reason). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  let stop!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    stop = () => reject(signal.reason as Error);
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener('abort', stop));
}

/** Resolves after `ms`, or at once when `signal` is aborted (its timer cleared). */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The outcome of the connection's own first connect: no second connection in the usual case. */
function firstOutcome(redis: Redis, topology: Topology): Promise<void> {
  if (redis.status === 'ready' || redis.status === 'wait') return Promise.resolve();
  if (redis.status !== 'connecting' && redis.status !== 'connect') return topology.probe();
  return new Promise((resolve, reject) => {
    const settle = (error?: Error): void => {
      redis.off('ready', onReady).off('error', settle);
      if (error) reject(error);
      else resolve();
    };
    const onReady = (): void => settle();
    redis.once('ready', onReady).once('error', settle);
  });
}

/** Waits for `redis` (reconnecting on its own schedule) to be ready; a lazy client connects on use. */
function ready(redis: Redis): Promise<void> {
  if (redis.status === 'ready' || redis.status === 'wait') return Promise.resolve();
  if (redis.status === 'end') return Promise.reject(new Error('the connection was closed and does not reconnect'));
  return new Promise((resolve) => redis.once('ready', () => resolve()));
}

import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import type { StreamQueueConfig } from '../stream-queue.config';
import { STREAM_QUEUE_CONFIG } from '../stream-queue.constants';
import { isRedisClient } from './connection-check';
import { awaitRedis } from './redis-readiness';
import { defineScripts } from './scripts';

/**
 * @internal Owns the module's Redis connections: one for commands and scripts (shared by the
 * client and the workers), plus dedicated ones for blocking reads and pub/sub. A client the user
 * handed in is reused and never closed; everything derived from it is.
 */
@Injectable()
export class RedisConnections implements OnModuleInit, OnApplicationShutdown {
  readonly commands: Redis;
  private readonly owned = new Set<Redis>();
  private readonly logger = new Logger('StreamQueue');

  constructor(@Inject(STREAM_QUEUE_CONFIG) private readonly config: StreamQueueConfig) {
    const connection = config.connection;
    if (isRedisClient(connection)) {
      this.commands = connection;
    } else {
      this.commands =
        'url' in connection && typeof connection.url === 'string'
          ? new Redis(connection.url, { ...AUTO_PIPELINE, ...(connection as { options?: RedisOptions }).options })
          : new Redis({ ...AUTO_PIPELINE, ...(connection as RedisOptions) });
      this.track(this.commands, 'commands');
    }
    defineScripts(this.commands);
  }

  /**
   * Producers and workers alike wait here for Redis, retrying, before anything uses it: the module
   * is global, so this runs before the application's own onModuleInit hooks (which may enqueue)
   * and before every onApplicationBootstrap (the heartbeat, the reads, periodic schedules).
   */
  async onModuleInit(): Promise<void> {
    const { retryAttempts, retryDelay } = this.config;
    try {
      await awaitRedis(this.commands, { retryAttempts, retryDelay, logger: this.logger, redact: redactCredentials });
    } catch (error) {
      // Nest runs no shutdown hook after a failed bootstrap: stop reconnecting in the background.
      // A failed AUTH in flight reconnects after disconnect() unless the retry strategy says no.
      for (const redis of this.owned) {
        redis.options.retryStrategy = () => null;
        redis.disconnect();
      }
      throw error;
    }
  }

  /** A new connection with the same settings, for one purpose (blocking reads, subscriptions). */
  dedicated(purpose: string): Redis {
    // One command at a time on these (a blocking read, subscriptions): nothing to pipeline.
    const redis = this.commands.duplicate({ enableAutoPipelining: false });
    this.track(redis, purpose);
    return redis;
  }

  /** Settings a worker thread can rebuild a connection from (functions cannot cross threads). */
  transferableOptions(): RedisOptions {
    return withoutFunctions(this.commands.options) as RedisOptions;
  }

  /** Paths of the options transferableOptions() drops (functions), e.g. `tls.checkServerIdentity`. */
  droppedOptions(): string[] {
    const dropped: string[] = [];
    const walk = (value: unknown, path: string): void => {
      if (typeof value === 'function') dropped.push(path);
      else if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) {
        for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
      }
    };
    walk(this.commands.options, '');
    return dropped;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(
      [...this.owned].map(async (redis) => {
        // Not connected (a bootstrap that never reached Redis): quit() would wait for a reconnect.
        if (redis.status !== 'ready') return redis.disconnect();
        try {
          await redis.quit();
        } catch {
          redis.disconnect();
        }
      }),
    );
    this.owned.clear();
  }

  private track(redis: Redis, purpose: string): void {
    this.owned.add(redis);
    let failing = false;
    let connected = false;
    // ioredis reconnects by itself; log the transitions once, not every retry. Failures before
    // the first connect are bootstrap's to report (onModuleInit), with the address and attempt.
    redis.on('error', (error: Error) => {
      redactCredentials(error);
      if (failing || !connected) return;
      failing = true;
      this.logger.warn(`Redis connection (${purpose}) lost: ${error.message}; reconnecting.`);
    });
    redis.on('ready', () => {
      connected = true;
      if (!failing) return;
      failing = false;
      this.logger.log(`Redis connection (${purpose}) restored.`);
    });
  }
}

/*
 * ioredis resends, after a reconnect, commands whose reply was lost (autoResendUnfulfilledCommands).
 * That is kept on purpose: with it off, ioredis drops those commands and their promises never
 * settle. Every script tolerates a repeat (a settle answers "no longer pending", a keyed enqueue
 * deduplicates); an unkeyed enqueue repeated this way is added twice, which the README states.
 */

/**
 * ioredis attaches the failed command to its errors, and a failed AUTH (or HELLO) is flushed
 * to every queued command: without this, the password reaches whoever logs a rejection.
 * Emitted before those rejections are handled, so they all see the redacted copy.
 */
function redactCredentials(error: Error): void {
  const command = (error as { command?: { name?: string; args?: unknown[] } }).command;
  if (command && /^(auth|hello)$/i.test(String(command.name)) && Array.isArray(command.args)) {
    command.args = command.args.map(() => '[redacted]');
  }
}

/**
 * Commands issued in one event-loop turn (concurrent enqueues, a settle beside a status read)
 * go out in one write: on a loaded machine the syscalls, not Redis, bound a burst of enqueues.
 * A connection option given by the user wins.
 */
const AUTO_PIPELINE: RedisOptions = { enableAutoPipelining: true };

/** A structured-clone-safe copy: functions dropped, Buffers (TLS material) kept. */
function withoutFunctions(value: unknown): unknown {
  if (typeof value === 'function') return undefined;
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.map(withoutFunctions);
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v !== 'function') copy[k] = withoutFunctions(v);
  return copy;
}

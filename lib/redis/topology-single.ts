import { Redis, type RedisOptions } from 'ioredis';
import { connectOnce } from './connect-once';
import { redisAddress } from './connection-check';
import { threadOptions } from './thread-options';
import type { BlockingRoute, ConnectionTracker, ThreadConnection, Topology } from './topology';

/**
 * @internal One Redis node, or the primary a Sentinel group names (ioredis asks the sentinels
 * and follows a failover by itself, on every connection made from the same options).
 */
export class SingleTopology implements Topology {
  readonly address: string;

  constructor(readonly commands: Redis) {
    const { sentinels, name } = commands.options;
    this.address = sentinels?.length
      ? `the "${name}" primary of sentinels ${sentinels.map((s) => redisAddress(s as RedisOptions)).join(', ')}`
      : redisAddress(commands.options);
  }

  dedicated(): Redis {
    // One command at a time on these (a blocking read, subscriptions): nothing to pipeline.
    return this.commands.duplicate({ enableAutoPipelining: false });
  }

  async probe(): Promise<void> {
    await connectOnce(
      this.commands.duplicate({
        lazyConnect: true,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        enableAutoPipelining: false,
      }),
    );
  }

  masters(): Redis[] {
    return [this.commands];
  }

  masterServing(): Promise<Redis> {
    return Promise.resolve(this.commands);
  }

  groupOf(): number {
    return 0;
  }

  /**
   * Every stream in one blocking read, on one connection of its own; unblocked from `commands`.
   * One that ended for good (cut, and its retryStrategy gave up) is made again while the command
   * connection lives: otherwise the worker would read nothing ever again ("Connection is closed").
   */
  blockingRoute(_key: string, connections: ConnectionTracker): BlockingRoute {
    let blocking: Redis | undefined;
    return {
      connection: async () => {
        if (blocking?.status === 'end' && this.commands.status !== 'end') {
          connections.release(blocking);
          blocking = undefined;
        }
        if (!blocking) {
          blocking = this.dedicated();
          connections.track(blocking, 'blocking reads');
        }
        return { blocking, unblocker: this.commands };
      },
      rerouted: async () => false,
    };
  }

  threadConnection(): ThreadConnection {
    return { kind: 'single', options: threadOptions(this.commands.options, defaultOptions(), 'connection') };
  }
}

let defaults: RedisOptions | undefined;

/** ioredis's own option values (its default functions among them), from a client never connected. */
function defaultOptions(): RedisOptions {
  defaults ??= new Redis({ lazyConnect: true }).options;
  return defaults;
}

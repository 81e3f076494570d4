import { InvalidOptionError } from '../errors';

/**
 * @internal Function-valued connection options that only time reconnects. The heartbeat thread
 * cannot receive functions; it reconnects on ioredis's default schedule instead, which is safe:
 * its lease logic already covers an outage of any length (a beat that fails lets the lease run
 * down and aborts this worker's runs before another worker can take them).
 */
export const RETIMED_OPTIONS: readonly string[] = [
  'retryStrategy',
  'reconnectOnError',
  'clusterRetryStrategy',
  'sentinelRetryStrategy',
  'sentinelReconnectStrategy',
  'redisOptions.retryStrategy',
  'redisOptions.reconnectOnError',
];

/**
 * @internal A structured-clone-safe copy of `options` for the heartbeat thread. Functions that are
 * ioredis's own defaults (`defaults` holds them) or only time reconnects are dropped (the thread
 * gets the defaults); any other function decides where or how to connect (natMap, dnsLookup,
 * tls.checkServerIdentity, ...) and has no stand-in, so it fails bootstrap naming the option:
 * the thread would dial or verify differently from the main connection, and a worker without a
 * heartbeat is presumed dead while it runs tasks.
 */
export function threadOptions<T extends object>(options: T, defaults: object, path: string): T {
  const copy = (value: unknown, at: string, fallback: unknown): unknown => {
    if (typeof value === 'function') {
      if (value === fallback || RETIMED_OPTIONS.includes(at)) return undefined;
      throw new InvalidOptionError(
        `${path}.${at}`,
        'no function here for a worker: its heartbeat thread cannot receive functions (only reconnect timing is replaced by ioredis defaults)',
        value,
      );
    }
    if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
    if (Array.isArray(value)) return value.map((v, i) => copy(v, `${at}.${i}`, undefined));
    const result: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const inner = copy(v, at ? `${at}.${k}` : k, (fallback as Record<string, unknown> | undefined)?.[k]);
      if (inner !== undefined) result[k] = inner;
    }
    return result;
  };
  return copy(options, '', defaults) as T;
}

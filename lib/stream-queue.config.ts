import { InvalidOptionError } from './errors';
import { checkDurability } from './client/durable-enqueue';
import type { ConnectionOptions, DurabilityOptions, StreamQueueModuleOptions } from './interfaces';
import { checkConnection } from './redis/connection-check';
import { checkOptionNames, optionNames } from './option-names';
import { snapshotOptions } from './options-snapshot';
import { MAX_PARTITIONS, MAX_TIMER_MS } from './stream-queue.constants';
import { checkName } from './task/resolved-task-options';

/** @internal Module options with every default applied; the only place defaults live. */
export interface StreamQueueConfig {
  readonly connection: ConnectionOptions;
  readonly prefix: string;
  readonly concurrency: number;
  readonly worker: boolean;
  readonly leaseMs: number;
  readonly heartbeatIntervalMs: number;
  readonly sweepIntervalMs: number;
  readonly maxStallMs: number;
  readonly maxDeliveries: number;
  readonly shutdownTimeoutMs: number;
  readonly resultTtlMs: number;
  readonly maxPayloadBytes: number;
  readonly deadLetterMaxLen: number;
  readonly blockMs: number;
  readonly ackBatchMs: number;
  readonly retryAttempts: number;
  readonly retryDelay: number;
  /** Longest wait of a call for a command connection that is down or not ready (see unready-wait-bound). */
  readonly offlineTimeoutMs: number;
  readonly durability: DurabilityOptions | undefined;
  readonly runContext: boolean;
  /** What one level of priority weighs in the waiting room's rank, in ms (flow control). */
  readonly priorityAgingMs: number;
  /** Partition count per configured queue; a queue not listed has 1 (see partitionsOf). */
  readonly queues: ReadonlyMap<string, { readonly partitions: number }>;
}

export { MAX_PARTITIONS };

/** @internal The partition count of `queue` (1 unless `queues` says otherwise). */
export function partitionsOf(config: Pick<StreamQueueConfig, 'queues'>, queue: string): number {
  return config.queues.get(queue)?.partitions ?? 1;
}

/** @internal Every name StreamQueueModuleOptions has: any other is a typo. */
export const MODULE_OPTION_NAMES = optionNames<StreamQueueModuleOptions>({
  connection: true,
  prefix: true,
  concurrency: true,
  worker: true,
  leaseMs: true,
  heartbeatIntervalMs: true,
  sweepIntervalMs: true,
  maxStallMs: true,
  maxDeliveries: true,
  shutdownTimeoutMs: true,
  resultTtlMs: true,
  priorityAgingMs: true,
  maxPayloadBytes: true,
  deadLetterMaxLen: true,
  blockMs: true,
  ackBatchMs: true,
  retryAttempts: true,
  retryDelay: true,
  offlineTimeoutMs: true,
  durability: true,
  runContext: true,
  queues: true,
});

/** @internal */
export const PREFIX_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * @internal Shortest `maxStallMs`. The main loop stamps its progress every 100 ms (lease-keeper's
 * PROGRESS_STAMP_MS) and the heartbeat thread skips a beat when the stamp is older than
 * `maxStallMs`: under 100 ms an idle, healthy loop looks stalled at every beat and the worker
 * loses its lease for good. 500 ms leaves 400 ms for timer lateness and GC pauses.
 */
export const MIN_MAX_STALL_MS = 500;

/**
 * @internal Shortest `resultTtlMs` other than 0. A waiter reads the stored result only after the
 * done message crossed pub/sub and its event loop turned: a result kept a few ms expired first,
 * and result() resolved undefined for a value, or read a failure as completed (nothing stored,
 * entry gone). 1 s is the floor a wait's last read gets too (result-waiter's LAST_READ_MIN_MS).
 */
export const MIN_RESULT_TTL_MS = 1_000;

/**
 * @internal Default `resultTtlMs`: here, not inlined in resolveConfig, because the CLI (which has
 * no module options) keeps its records this long unless told the app's value.
 */
export const DEFAULT_RESULT_TTL_MS = 3_600_000;

/**
 * @internal Applies defaults and validates; throws InvalidOptionError naming the option (one
 * whose getter throws too: each option is read once, by snapshotOptions).
 */
export function resolveConfig(options: StreamQueueModuleOptions | undefined): StreamQueueConfig {
  const raw = snapshotOptions(options, '', MODULE_OPTION_NAMES);
  if (raw == null || typeof raw !== 'object') {
    throw new InvalidOptionError('options', 'an object with at least `connection`', raw);
  }
  checkOptionNames('', raw, MODULE_OPTION_NAMES);
  const connection = raw.connection;
  if (connection == null || typeof connection !== 'object') {
    throw new InvalidOptionError('connection', 'a { url }, ioredis options, or an ioredis client', connection);
  }
  if ('url' in connection && typeof connection.url !== 'string') {
    throw new InvalidOptionError('connection.url', 'a redis:// or rediss:// URL string', connection.url);
  }
  checkConnection(connection);
  const prefix = raw.prefix ?? 'sq';
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new InvalidOptionError('prefix', 'letters, digits, "_", "." or "-" (1-64 characters)', prefix);
  }
  const worker = raw.worker ?? true;
  if (typeof worker !== 'boolean') throw new InvalidOptionError('worker', 'true or false', worker);
  const runContext = raw.runContext ?? false;
  if (typeof runContext !== 'boolean') throw new InvalidOptionError('runContext', 'true or false', runContext);

  // Durations that become Node timers stop at MAX_TIMER_MS (longer ones would fire after 1 ms);
  // resultTtlMs and maxStallMs are not timers (Redis expiries, a comparison).
  const leaseMs = int(raw, 'leaseMs', 30_000, 100, MAX_TIMER_MS);
  const heartbeatIntervalMs = int(raw, 'heartbeatIntervalMs', Math.max(20, Math.floor(leaseMs / 6)), 10);
  if (heartbeatIntervalMs * 3 > leaseMs) {
    throw new InvalidOptionError(
      'heartbeatIntervalMs',
      `at most a third of leaseMs (${Math.floor(leaseMs / 3)})`,
      heartbeatIntervalMs,
    );
  }
  return Object.freeze({
    connection,
    prefix,
    worker,
    runContext,
    concurrency: int(raw, 'concurrency', 10, 1, 10_000),
    leaseMs,
    heartbeatIntervalMs,
    sweepIntervalMs: int(raw, 'sweepIntervalMs', 2_000, 10, MAX_TIMER_MS),
    maxStallMs: int(raw, 'maxStallMs', 60_000, MIN_MAX_STALL_MS),
    maxDeliveries: int(raw, 'maxDeliveries', 5, 1),
    shutdownTimeoutMs: int(raw, 'shutdownTimeoutMs', 10_000, 0, MAX_TIMER_MS),
    resultTtlMs: resultTtl(raw, 'resultTtlMs', DEFAULT_RESULT_TTL_MS),
    maxPayloadBytes: int(raw, 'maxPayloadBytes', 1_048_576, 1, 512 * 1_048_576),
    deadLetterMaxLen: int(raw, 'deadLetterMaxLen', 10_000, 1),
    blockMs: int(raw, 'blockMs', 1_000, 1, 60_000),
    ackBatchMs: int(raw, 'ackBatchMs', 0, 0, 1_000),
    // @nestjs/typeorm's and @nestjs/mongoose's defaults: about 27 s before bootstrap gives up.
    retryAttempts: int(raw, 'retryAttempts', 9, 0, 1_000),
    retryDelay: int(raw, 'retryDelay', 3_000, 0, MAX_TIMER_MS),
    offlineTimeoutMs: int(raw, 'offlineTimeoutMs', 10_000, 100, MAX_TIMER_MS),
    durability: checkDurability('durability', raw.durability),
    priorityAgingMs: int(raw, 'priorityAgingMs', 1_000, 0, 86_400_000),
    queues: resolveQueues(raw.queues),
  });
}

/** Validates `queues`: names as task queues are named, `partitions` an integer in [1, MAX_PARTITIONS]. */
function resolveQueues(raw: unknown): ReadonlyMap<string, { readonly partitions: number }> {
  const queues = new Map<string, { readonly partitions: number }>();
  if (raw === undefined) return queues;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InvalidOptionError('queues', 'an object { [queue]: { partitions } }', raw);
  }
  for (const [queue, options] of Object.entries(raw as Record<string, unknown>)) {
    checkName(`queues.${queue}`, queue);
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new InvalidOptionError(`queues.${queue}`, 'an object { partitions? }', options);
    }
    const source = options as Record<string, unknown>;
    checkOptionNames(`queues.${queue}.`, source, ['partitions']);
    const option = `queues.${queue}.partitions`;
    // null is a value given, not an absent one: it fails rather than taking the default.
    const given = source.partitions === null ? Number.NaN : source.partitions;
    queues.set(queue, Object.freeze({ partitions: int({ [option]: given }, option, 1, 1, MAX_PARTITIONS) }));
  }
  return queues;
}

/**
 * @internal Reads a `resultTtlMs` (the module's or a task's): 0, or from MIN_RESULT_TTL_MS to the
 * largest safe integer (as int() bounds every option: a Lua number past it is written `1e+20`,
 * which Redis's PX refuses at the first settle).
 */
export function resultTtl<K extends string>(source: Partial<Record<K, unknown>>, name: K, fallback: number): number {
  const value = source[name] ?? fallback;
  if (value === 0) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < MIN_RESULT_TTL_MS) {
    throw new InvalidOptionError(
      name,
      `0 (keep nothing) or an integer from ${MIN_RESULT_TTL_MS} to ${Number.MAX_SAFE_INTEGER} (a shorter one expires before a waiter reads it)`,
      value,
    );
  }
  return value;
}

/** Reads an integer option in [min, max]; `undefined` takes the default. */
export function int<K extends string>(
  source: Partial<Record<K, unknown>>,
  name: K,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const value = source[name] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new InvalidOptionError(name, `an integer ${range}`, value);
  }
  return value;
}

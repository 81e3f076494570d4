import { int, resultTtl } from '../stream-queue.config';
import { checkOptionNames, optionNames } from '../option-names';
import { InvalidOptionError } from '../errors/index';
import { DEFAULT_QUEUE, MAX_TIMER_MS } from '../stream-queue.constants';
import type { BackoffOptions, TaskOptions } from '../interfaces/index';
import { checkCron, parseEvery, periodicKey } from './schedule';

/** @internal Task options with defaults applied. */
export interface ResolvedTaskOptions {
  readonly queue: string;
  readonly maxAttempts: number;
  readonly backoff: Required<BackoffOptions>;
  readonly timeoutMs: number | undefined;
  readonly resultTtlMs: number;
  /** A periodic task's schedule, validated. */
  readonly schedule: { every: number } | { cron: string; timezone: string | undefined } | undefined;
  /** Runs at once across all workers, and per group (flow control); undefined for no limit. */
  readonly globalConcurrency?: number;
  readonly groupConcurrency?: number;
  /** Starts per window across all workers, and per group (rate limits); undefined for none. */
  readonly rateLimit?: { readonly max: number; readonly perMs: number };
  readonly groupRateLimit?: { readonly max: number; readonly perMs: number };
}

/** Every name TaskOptions has (`name` is the decorator's first argument): any other is a typo. */
const TASK_OPTION_NAMES = optionNames<TaskOptions>({
  queue: true,
  maxAttempts: true,
  backoff: true,
  timeoutMs: true,
  resultTtlMs: true,
  every: true,
  cron: true,
  timezone: true,
  globalConcurrency: true,
  groupConcurrency: true,
  rateLimit: true,
  groupRateLimit: true,
});
const BACKOFF_OPTION_NAMES = optionNames<BackoffOptions>({
  type: true,
  delayMs: true,
  maxDelayMs: true,
  jitter: true,
});

const NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** @internal Whether `value` is a valid task or queue name; braces would break the queue's hash tag. */
export function isName(value: unknown): value is string {
  return typeof value === 'string' && NAME_PATTERN.test(value);
}

/** @internal Validates a task or queue name (see isName). */
export function checkName(option: string, value: unknown): string {
  if (!isName(value)) {
    throw new InvalidOptionError(option, 'letters, digits, "_", ".", ":" or "-" (1-128 characters)', value);
  }
  return value;
}

/**
 * @internal Applies task defaults; an invalid value names `@Task(<name>).<option>`.
 * `partitionsOf` gives a queue's partition count: globalConcurrency and rateLimit.max need at
 * least one per partition (each partition enforces a share of them: flowLimitsOf).
 */
export function resolveTaskOptions(
  name: string,
  raw: TaskOptions,
  defaultResultTtlMs: number,
  partitionsOf: (queue: string) => number = () => 1,
): ResolvedTaskOptions {
  const at = (option: string) => `@Task('${name}').${option}`;
  const named = <T extends object>(source: T, prefix: string) =>
    Object.fromEntries(Object.entries(source).map(([k, v]) => [at(prefix + k), v])) as Record<string, unknown>;
  checkOptionNames(at(''), raw, TASK_OPTION_NAMES);
  const opts = named(raw, '');
  if (raw.backoff != null && (typeof raw.backoff !== 'object' || Array.isArray(raw.backoff))) {
    throw new InvalidOptionError(at('backoff'), 'an object { type, delayMs, maxDelayMs, jitter }', raw.backoff);
  }
  const backoffRaw = raw.backoff ?? {};
  checkOptionNames(at('backoff.'), backoffRaw, BACKOFF_OPTION_NAMES);
  const backoff = named(backoffRaw, 'backoff.');
  const type = backoffRaw.type ?? 'exponential';
  if (type !== 'exponential' && type !== 'fixed') {
    throw new InvalidOptionError(at('backoff.type'), '"exponential" or "fixed"', type);
  }
  const jitter = backoffRaw.jitter ?? true;
  if (typeof jitter !== 'boolean') throw new InvalidOptionError(at('backoff.jitter'), 'true or false', jitter);
  // A Node timer: a longer one would fire after 1 ms and fail every run at once.
  const timeoutMs = raw.timeoutMs === undefined ? undefined : int(opts, at('timeoutMs'), 0, 1, MAX_TIMER_MS);
  const queue = checkName(at('queue'), raw.queue ?? DEFAULT_QUEUE);
  const schedule = resolveSchedule(raw, at, periodicKey(name));
  // A limit's state lives in one partition. A group limit counts one group, whose tasks all go
  // to one partition (partitionOfGroup); the task's own limits are split into a share per
  // partition (flowLimitsOf), and one below the count would leave a partition a share of 0.
  const shared = (option: string, value: number) => {
    const count = partitionsOf(queue);
    if (value < count) {
      throw new InvalidOptionError(
        at(option),
        `at least queues.${queue}.partitions (${count}): each partition enforces a share of it, and a share of 0 would never run`,
        value,
      );
    }
  };
  // A periodic run is keyed: its key's transitions do not go through the waiting room yet.
  const unscheduled = (option: string, value: unknown) => {
    if (schedule) throw new InvalidOptionError(at(option), 'a task without `every` or `cron`', value);
  };
  const limit = (option: 'globalConcurrency' | 'groupConcurrency') => {
    if (raw[option] === undefined) return undefined;
    const value = int(opts, at(option), 1, 1, 1_000_000);
    if (option === 'globalConcurrency') shared(option, value);
    unscheduled(option, value);
    return value;
  };
  const rate = (option: 'rateLimit' | 'groupRateLimit') => {
    const window = raw[option];
    if (window === undefined) return undefined;
    if (window === null || typeof window !== 'object' || Array.isArray(window)) {
      throw new InvalidOptionError(at(option), 'an object { max, perMs }', window);
    }
    checkOptionNames(at(`${option}.`), window, ['max', 'perMs']);
    const fields = named(window, `${option}.`);
    const need = (field: 'max' | 'perMs', most: number) => {
      const name = at(`${option}.${field}`);
      if (window[field] === undefined) throw new InvalidOptionError(name, `an integer from 1 to ${most}`, undefined);
      return int(fields, name, 0, 1, most);
    };
    const value = { max: need('max', 1_000_000), perMs: need('perMs', MAX_TIMER_MS) };
    if (option === 'rateLimit') shared('rateLimit.max', value.max);
    unscheduled(option, window);
    return value;
  };
  return {
    queue,
    maxAttempts: int(opts, at('maxAttempts'), 3, 1, 1_000),
    backoff: {
      type,
      jitter,
      delayMs: int(backoff, at('backoff.delayMs'), 1_000, 0),
      maxDelayMs: int(backoff, at('backoff.maxDelayMs'), 60_000, 0),
    },
    timeoutMs,
    resultTtlMs: resultTtl(opts, at('resultTtlMs'), defaultResultTtlMs),
    schedule,
    globalConcurrency: limit('globalConcurrency'),
    groupConcurrency: limit('groupConcurrency'),
    rateLimit: rate('rateLimit'),
    groupRateLimit: rate('groupRateLimit'),
  };
}

function resolveSchedule(
  raw: TaskOptions,
  at: (option: string) => string,
  key: string,
): ResolvedTaskOptions['schedule'] {
  if (raw.every !== undefined && raw.cron !== undefined) {
    throw new InvalidOptionError(at('every'), 'either `every` or `cron`, not both', raw.every);
  }
  if (raw.every !== undefined) return { every: parseEvery(at('every'), raw.every) };
  if (raw.cron !== undefined) {
    checkCron(at('cron'), raw.cron, raw.timezone, key);
    return { cron: raw.cron, timezone: raw.timezone };
  }
  if (raw.timezone !== undefined) throw new InvalidOptionError(at('timezone'), 'to be used with `cron`', raw.timezone);
  return undefined;
}

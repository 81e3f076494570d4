import { hasFlowLimits } from '../task/flow-limits';
import { InvalidOptionError } from '../errors';
import type { ScheduleOptions, SchedulesOptions } from '../interfaces';
import { encodePayload } from '../task/payload-codec';
import type { RuntimeScheduleCall } from '../scripts/schedule-runtime.script';
import { checkCron, CRON_DEFAULT_TIMEZONE, parseEvery, periodicKey } from '../task/schedule';
import type { TaskRegistry } from '../task/task.registry';
import { checkOptionNames, optionNames } from '../option-names';
import { checkKey, knownTask, queueOption, taskQueue } from './enqueue-input';

const RESERVED_PREFIX = periodicKey('');
const MAX_PAGE = 1_000;
const DEFAULT_PAGE = 100;
/** What schedule() and schedules() read: another name (`queu`, `timeZone`) would be dropped without a word. */
const SCHEDULE_OPTION_NAMES = optionNames<Required<ScheduleOptions>>({
  key: true,
  queue: true,
  every: true,
  cron: true,
  timezone: true,
});
const SCHEDULES_OPTION_NAMES = optionNames<SchedulesOptions>({ queue: true, after: true, limit: true });

/**
 * @internal Validates a QueueClient.schedule() call and builds it (without its cron fire times).
 * A name no handler of this process declares is refused when the process has handlers; a
 * producer-only process cannot tell, and its schedule runs wherever the queue is consumed.
 */
export function toScheduleCall(
  registry: TaskRegistry,
  maxPayloadBytes: number,
  name: string,
  payload: unknown,
  options: ScheduleOptions,
): Omit<RuntimeScheduleCall, 'fires' | 'partitions'> {
  const definition = knownTask(registry, name);
  if (options == null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidOptionError('options', 'an object { key, every } or { key, cron, timezone? }', options);
  }
  checkOptionNames('', options, SCHEDULE_OPTION_NAMES);
  const { key, every, cron, timezone } = options as Partial<Record<keyof ScheduleOptions, unknown>>;
  checkKey(key);
  // A schedule's runs are keyed, and a task under flow control takes no key yet: its runs would
  // run outside its limits.
  if (definition && hasFlowLimits(definition.options)) {
    throw new InvalidOptionError(
      'name',
      'a task without globalConcurrency/groupConcurrency/rateLimit/groupRateLimit (a schedule is keyed)',
      name,
    );
  }
  if (key.startsWith(RESERVED_PREFIX)) {
    throw new InvalidOptionError('key', `a key outside "${RESERVED_PREFIX}" (reserved for @Task schedules)`, key);
  }
  if (every !== undefined && cron !== undefined) {
    throw new InvalidOptionError('every', 'either `every` or `cron`, not both', every);
  }
  let schedule: RuntimeScheduleCall['schedule'];
  if (cron !== undefined) {
    checkCron('cron', cron, timezone, key);
    schedule = { cron: cron as string, timezone: (timezone as string | undefined) ?? CRON_DEFAULT_TIMEZONE };
  } else if (every !== undefined) {
    if (timezone !== undefined) throw new InvalidOptionError('timezone', 'to be used with `cron`', timezone);
    schedule = { every: parseEvery('every', every) };
  } else {
    throw new InvalidOptionError('every', 'a period (`every`) or a `cron` expression', undefined);
  }
  const queue = taskQueue(options.queue, definition);
  return { name, queue, key, payload: encodePayload(name, payload, maxPayloadBytes), schedule };
}

/** @internal The paging of schedules(), validated. */
export function toSchedulesPage(options: SchedulesOptions): { queue: string; after: string; limit: number } {
  const queue = queueOption(options);
  checkOptionNames('', options, SCHEDULES_OPTION_NAMES);
  const { after, limit = DEFAULT_PAGE } = options;
  if (after !== undefined) checkKey(after, 'after');
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new InvalidOptionError('limit', `an integer from 1 to ${MAX_PAGE}`, limit);
  }
  return { queue, after: after ?? '', limit };
}

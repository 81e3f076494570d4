import { ApplicationNotReadyError, InvalidOptionError, PayloadError, UnknownTaskError } from '../errors';
import type { PartitionLayouts } from '../partitions/partition-layout';
import type { EnqueueOptions, ReplaceOptions } from '../interfaces';
import { checkOptionNames, optionNames } from '../option-names';
import { DEFAULT_QUEUE } from '../stream-queue.constants';
import { checkName } from '../task/resolved-task-options';
import { flowLimitsOf, hasFlowLimits, hasGroupLimit } from '../task/flow-limits';
import { encodePayload } from '../task/payload-codec';
import { parseEvery, periodicKey } from '../task/schedule';
import type { TaskDefinition, TaskRegistry } from '../task/task.registry';
import { MAX_GROUP_LENGTH } from '../task/task-message';
import type { EnqueueCall } from './enqueue-call';
import { isWellFormedText } from './well-formed-text';

const MAX_KEY_LENGTH = 1024;
/** The last time a Date holds (275760-09-13): 8.64e15 ms. */
const LAST_DATE_MS = 8.64e15;
const RUN_AT_EXPECTED = `a valid Date or epoch milliseconds (at most ${LAST_DATE_MS})`;

/**
 * What an enqueue() or replace() options object may name. A name it does not read (`delay`,
 * `resultTtlMs`, a @Task option) would be dropped without a word: `{ delay: 60_000 }` ran at once.
 * @internal
 */
export const ENQUEUE_OPTION_NAMES = optionNames<ReplaceOptions>({
  key: true,
  delayMs: true,
  runAt: true,
  queue: true,
  durability: true,
  group: true,
  priority: true,
  every: true,
});

/** @internal Whether `key` is a task key (1 to 1024 characters, well-formed UTF-16: see isWellFormedText). */
export function isKey(key: unknown): key is string {
  return typeof key === 'string' && key.length > 0 && key.length <= MAX_KEY_LENGTH && isWellFormedText(key);
}

/** @internal Throws InvalidOptionError unless `key` is a task key (see isKey). */
export function checkKey(key: unknown, option = 'key'): asserts key is string {
  if (!isKey(key)) {
    throw new InvalidOptionError(option, `a string of 1 to ${MAX_KEY_LENGTH} characters, without lone surrogates`, key);
  }
}

/** @internal The queue an `{ queue? }` options object names, validated; `default` when none. */
export function queueOption(options: { queue?: string }): string {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'an object', options);
  return options.queue === undefined ? DEFAULT_QUEUE : checkName('queue', options.queue);
}

/**
 * @internal The task a name refers to, checked against this process's registry: a process with
 * handlers refuses a name none of them declares; a producer-only process (none) cannot tell.
 */
export function knownTask(registry: TaskRegistry, name: unknown): TaskDefinition | undefined {
  checkName('name', name);
  // Read as a producer's empty registry, the call went to `default` without its task's options:
  // a task of another queue sat where no worker read it.
  if (!registry.isFilled) {
    throw new ApplicationNotReadyError(
      `Task "${name as string}" was named before the application's init discovered the @Task() handlers (or after a failed init): its queue and options are not known, so nothing was sent. Call QueueClient once app.init() ran (listen() runs it), or from a hook.`,
    );
  }
  const definition = registry.get(name as string);
  if (!definition && registry.size > 0) {
    throw new UnknownTaskError(name as string, registry.names(), registry.whyMissing(name as string));
  }
  return definition;
}

/** @internal The queue a call names, else its task's queue when this process has the handler, else `default`. */
export function taskQueue(queue: unknown, definition: TaskDefinition | undefined): string {
  return queue !== undefined ? checkName('queue', queue) : (definition?.options.queue ?? DEFAULT_QUEUE);
}

/**
 * @internal A refusal of enqueueMany()'s item `i`, naming the item: one batch can hold a thousand items
 * with the same options and task, and `Invalid option "delayMs"` alone does not say which to fix.
 */
export function itemRefusal(error: unknown, i: number): unknown {
  if (error instanceof PayloadError) return error.at(`items[${i}]`);
  if (!(error instanceof InvalidOptionError)) return error; // UnknownTaskError: the name says it
  const { option } = error;
  return error.at(
    option === 'name' || option === 'options' ? `items[${i}].${option}` : `items[${i}].options.${option}`,
  );
}

/**
 * @internal Validates one enqueue/replace and builds what enqueue.lua (or schedule-periodic.lua,
 * for a periodic key) needs. Throws a typed error before anything is written.
 */
export function toEnqueueCall(
  registry: TaskRegistry,
  layouts: PartitionLayouts,
  maxPayloadBytes: number,
  priorityAgingMs: number,
  name: string,
  payload: unknown,
  options: EnqueueOptions & { every?: number | string },
  mode: 'add' | 'replace',
): EnqueueCall {
  const definition = knownTask(registry, name);
  // An array's prototype has an `every` method, which would be read as the `every` option.
  if (options == null || typeof options !== 'object' || Array.isArray(options))
    throw new InvalidOptionError('options', 'an object', options);
  checkOptionNames('', options, ENQUEUE_OPTION_NAMES);
  const { key, delayMs = 0, runAt } = options;
  if (key !== undefined) checkKey(key);
  // A due time past the last Date never comes: the task (a key's run) would wait for good.
  if (!Number.isSafeInteger(delayMs) || delayMs < 0 || (delayMs > 0 && Date.now() + delayMs > LAST_DATE_MS))
    throw new InvalidOptionError('delayMs', `an integer >= 0 that ends by the last Date (${LAST_DATE_MS} ms)`, delayMs);
  const at = timeOf(runAt);
  if (at !== undefined && (!Number.isSafeInteger(at) || at <= 0 || at > LAST_DATE_MS))
    throw new InvalidOptionError('runAt', RUN_AT_EXPECTED, runAt);
  if (at !== undefined && delayMs > 0)
    throw new InvalidOptionError('runAt', 'either `runAt` or `delayMs`, not both', runAt);
  const schedule = definition?.options.schedule;
  // Without a local handler the key alone says it: a producer may re-time a chain it does not run.
  const periodic = key !== undefined && key === periodicKey(name) && (schedule !== undefined || !definition);
  let everyMs = 0;
  if (options.every !== undefined) {
    if (!periodic || (schedule !== undefined && !('every' in schedule))) {
      throw new InvalidOptionError(
        'every',
        `only on the periodic key "${periodicKey(name)}" of an \`every\` task`,
        options.every,
      );
    }
    everyMs = parseEvery('every', options.every);
  } else if (periodic && mode === 'add' && schedule !== undefined && 'every' in schedule) {
    everyMs = schedule.every; // a replace without `every` keeps the stored period
  }
  const queue = taskQueue(options.queue, definition);
  const partitions = layouts.partitionsOf(queue);
  const flow = flowOf(definition, options, key);
  if (definition) checkLimitedQueue(definition, queue);
  // A key's partition; a flow task's group's, but for an ungrouped task whose definition here has
  // no group limit, which goes to the next in turn as a task without one does (a periodic key's
  // is 0): its own limits are shared out per partition, so it can use every partition's share.
  const spread = flow && flow.group === undefined && definition !== undefined && !hasGroupLimit(definition.options);
  const keys =
    key !== undefined
      ? partitions.forKey(key)
      : flow && !spread
        ? partitions.forGroup(flow.group)
        : partitions.nextUnkeyed();
  // The limits as the partition it goes to enforces them (its share of the task's own limits).
  const limits = definition && flowLimitsOf(definition.options, priorityAgingMs, keys.partition, partitions.count);
  return {
    flow: flow && { ...flow, limits },
    name,
    queue,
    keys,
    partitions: partitions.count,
    key,
    payload: encodePayload(name, payload, maxPayloadBytes),
    delayMs,
    runAt: at ?? 0,
    mode,
    everyMs,
    periodic,
  };
}

/**
 * `runAt` as epoch milliseconds (unchecked: the types are the caller's word only), a Date's read with its getTime(): a subclass's
 * override is the caller's code, and a Date-like object or a Proxy of a Date has no time to
 * read (a TypeError), so a throw is refused naming `runAt`, its error the cause.
 */
function timeOf(runAt: Date | number | undefined): number | undefined {
  try {
    return runAt instanceof Date ? runAt.getTime() : runAt;
  } catch (error) {
    throw InvalidOptionError.timeUnreadable('runAt', RUN_AT_EXPECTED, error);
  }
}

/**
 * An enqueue may name another queue than its task's, and a worker consuming that queue runs it
 * there. A task's limits are counted in its own queue's flow keys (another queue's live in
 * another slot, and no atomic step spans two): a run on another queue is counted apart, so a
 * `globalConcurrency: 1` task ran once on each queue at the same time. (Its own queue's partition
 * count was checked against its limits at bootstrap.)
 */
function checkLimitedQueue(definition: TaskDefinition, queue: string): void {
  const own = definition.options.queue;
  if (queue === own || !hasFlowLimits(definition.options)) return;
  throw new InvalidOptionError(
    'queue',
    `the queue of @Task('${definition.name}') ("${own}"), or none: its limits are counted on its own queue only`,
    queue,
  );
}

/**
 * @internal The flow-control part of an enqueue (docs/design/flow-control.md), its limits left
 * to the partition it goes to: present when the task has a concurrency or rate limit here, or
 * the enqueue names a group or a priority; undefined keeps the plain path. Flow control takes no
 * key. A priority orders the waiting tasks of one (task, group) in one partition's room, so a
 * partitioned queue takes it too.
 */
function flowOf(
  definition: TaskDefinition | undefined,
  options: EnqueueOptions,
  key: string | undefined,
): { group?: string; priority?: number } | undefined {
  const { group, priority } = options;
  if (
    group !== undefined &&
    (typeof group !== 'string' ||
      group.length === 0 ||
      group.length > MAX_GROUP_LENGTH ||
      group.includes('\0') ||
      !isWellFormedText(group))
  ) {
    throw new InvalidOptionError(
      'group',
      `a string of 1 to ${MAX_GROUP_LENGTH} characters without NUL or lone surrogates`,
      group,
    );
  }
  if (priority !== undefined && !(Number.isInteger(priority) && priority >= 1 && priority <= 10)) {
    throw new InvalidOptionError('priority', 'an integer from 1 (most urgent) to 10', priority);
  }
  const limited = definition !== undefined && hasFlowLimits(definition.options);
  if (!limited && group === undefined && priority === undefined) return undefined;
  if (key !== undefined) {
    throw new InvalidOptionError('key', 'no key on a task under flow control (a limit, a group or a priority)', key);
  }
  return { group, priority };
}

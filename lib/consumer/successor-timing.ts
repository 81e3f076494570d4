import type { SuccessorTiming } from '../scripts/dead-letter.script';
import type { Schedule } from '../task/periodic-call';
import { cronFires, CRON_DEFAULT_TIMEZONE, periodicKey } from '../task/schedule';
import type { TaskMessage } from '../task/task-message';
import type { TaskDefinition } from '../task/task.registry';
import { logText } from './log-text';
import { isRuntimeScheduleRun, type StoredSchedule, type StoredSchedules } from './stored-schedules';

/** @internal What of a run a successor's timing is computed from. */
export type TimedRun = Pick<TaskMessage, 'entryId' | 'name' | 'key' | 'dueAt'>;

/**
 * @internal The schedule a run's successor follows, or undefined. A runtime schedule's run follows
 * the schedule its key state stores (`stored`), whatever the code defines. A `@Task` schedule's
 * run has none when the task is not periodic here or is defined on another queue: a chain moved
 * elsewhere ends on the queue it left.
 */
export function scheduleOf(
  queue: string,
  run: TimedRun,
  definition: TaskDefinition | undefined,
  stored: StoredSchedules,
): StoredSchedule | undefined {
  if (isRuntimeScheduleRun(run)) return stored.get(run.key);
  return run.key === periodicKey(run.name) && definition?.options.queue === queue
    ? definition.options.schedule
    : undefined;
}

/** @internal A run of a `@Task` schedule's chain: a periodic run (it carries its slot) under `periodic:<name>`. */
export function isTaskChainRun(run: Pick<TaskMessage, 'name' | 'key' | 'dueAt'>): boolean {
  return run.dueAt !== undefined && run.key === periodicKey(run.name);
}

/**
 * @internal A successor's timing. An `every` successor is timed in Redis from the key's period. A
 * cron's upcoming fire times are computed after the run's slot, or after the time Redis put the
 * run in the stream (its entry id) when that is later (the fleet was down), never from this
 * process's clock; Redis's clock picks one.
 */
export function timingOf(schedule: Schedule, run: TimedRun): SuccessorTiming {
  if ('every' in schedule) return { e: schedule.every };
  const after = Math.max(run.dueAt ?? 0, Number(run.entryId.split('-')[0]));
  const timezone = schedule.timezone ?? CRON_DEFAULT_TIMEZONE;
  return { c: schedule.cron, z: timezone, f: cronFires(schedule.cron, timezone, after).map(String) };
}

/**
 * @internal timingOf, or undefined when it cannot be computed here (a stored cron or zone this
 * process cannot read: a newer syntax, a zone its ICU lacks; a stored schedule the API would
 * refuse, anyone's write), said through `warn`. The settle
 * script then times the successor from what the key state stores (its fire times, else the
 * catch-up rule of includes/successor.lua): a chain must not end because one worker cannot read it.
 */
export function timingIfComputable(
  schedule: StoredSchedule,
  run: TimedRun,
  warn: (message: string) => void,
): SuccessorTiming | undefined {
  const unreadable = (why: string) => {
    warn(`No successor timing for entry ${run.entryId} of "${logText(run.name)}": ${logText(why)}`);
    return undefined;
  };
  if ('unreadable' in schedule) return unreadable(`its stored schedule is not one: ${schedule.unreadable}`);
  try {
    return timingOf(schedule, run);
  } catch (error) {
    return unreadable((error as Error).message);
  }
}

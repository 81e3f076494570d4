import type { SuccessorTiming } from '../scripts/dead-letter.script';
import type { Schedule } from '../task/periodic-call';
import { cronFires, CRON_DEFAULT_TIMEZONE, CRON_FIRES, periodicKey } from '../task/schedule';
import type { TaskMessage } from '../task/task-message';
import type { TaskDefinition } from '../task/task.registry';
import { logText } from './log-text';
import type { RedisClock } from './redis-clock';
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
 * Fire times a worker's estimate of Redis's clock may be ahead of it by: the Redis time it read
 * reached it up to a round trip late, and its monotonic clock may run a little fast.
 */
const CLOCK_SLACK_MS = 1_000;

/**
 * @internal A successor's timing. An `every` successor is timed in Redis from the key's period. A
 * cron's upcoming fire times are computed after the run's slot, never from this process's wall
 * clock; Redis's clock picks one. When all of them are past Redis's clock as `clock` estimates it
 * (the fleet was down, the run waited in the stream, or ran, longer than they last), those after
 * that estimate follow them: the next fire time is among them, where none was and a catch-up run
 * was due at once, back to back with the late run. Without an estimate (none is missing in a
 * worker) they start after the time of the run's entry id instead, when later. Not with one: an
 * entry id is no clock reading (Redis keeps a stream's ids increasing, so after its clock went
 * back, a failover or an NTP step, they are ahead of it by the step), and fire times after it
 * skipped every slot until Redis's clock caught up.
 */
export function timingOf(schedule: Schedule, run: TimedRun, clock?: Pick<RedisClock, 'now'>): SuccessorTiming {
  if ('every' in schedule) return { e: schedule.every };
  const entryTime = Number(run.entryId.split('-')[0]);
  const after = clock ? (run.dueAt ?? entryTime) : Math.max(run.dueAt ?? 0, entryTime);
  const timezone = schedule.timezone ?? CRON_DEFAULT_TIMEZONE;
  const fires = cronFires(schedule.cron, timezone, after, CRON_FIRES, run.key);
  const now = clock && clock.now() - CLOCK_SLACK_MS;
  if (now !== undefined && fires[fires.length - 1] <= now)
    fires.push(...cronFires(schedule.cron, timezone, now, CRON_FIRES, run.key));
  return { c: schedule.cron, z: timezone, f: fires.map(String) };
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
  clock?: Pick<RedisClock, 'now'>,
): SuccessorTiming | undefined {
  const unreadable = (why: string) => {
    warn(`No successor timing for entry ${run.entryId} of "${logText(run.name)}": ${logText(why)}`);
    return undefined;
  };
  if ('unreadable' in schedule) return unreadable(`its stored schedule is not one: ${schedule.unreadable}`);
  try {
    return timingOf(schedule, run, clock);
  } catch (error) {
    return unreadable((error as Error).message);
  }
}

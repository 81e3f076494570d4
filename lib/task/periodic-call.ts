import type { ResolvedTaskOptions } from '../task-options';
import { CRON_DEFAULT_TIMEZONE } from './schedule';

export type Schedule = NonNullable<ResolvedTaskOptions['schedule']>;

/** @internal A call of schedule-periodic.lua (see its header and its wrapper, scripts/schedule-periodic.script.ts). */
export type PeriodicCall =
  | {
      readonly mode: 'boot';
      readonly name: string;
      readonly queue: string;
      readonly schedule: Schedule;
      /** A cron's next fire times after Redis's clock. */
      readonly fires: readonly number[];
    }
  | {
      readonly mode: 'replace';
      readonly name: string;
      readonly queue: string;
      readonly payload: string;
      /** Undefined keeps the stored schedule. */
      readonly schedule: Schedule | undefined;
      readonly runAt: number;
      readonly delayMs: number;
    };

/** @internal A definition's schedule and queue as one comparable string (field `defined`). */
export function scheduleSignature(queue: string, schedule: Schedule): string {
  return 'every' in schedule
    ? JSON.stringify([queue, 'every', schedule.every])
    : JSON.stringify([queue, 'cron', schedule.cron, schedule.timezone ?? CRON_DEFAULT_TIMEZONE]);
}

/** @internal A schedule as a log line shows it. */
export function describeSchedule(schedule: Schedule): string {
  return 'every' in schedule
    ? `every ${schedule.every} ms`
    : `cron "${schedule.cron}" (${schedule.timezone ?? CRON_DEFAULT_TIMEZONE})`;
}

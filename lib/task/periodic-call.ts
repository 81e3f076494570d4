import { randomUUID } from 'node:crypto';
import type { QueueKeys } from '../redis/keys';
import type { ResolvedTaskOptions } from '../task-options';
import { CRON_DEFAULT_TIMEZONE, periodicKey } from './schedule';

export type Schedule = NonNullable<ResolvedTaskOptions['schedule']>;

/** @internal A call of schedule-periodic.lua (see its header). */
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

/** @internal What schedule-periodic.lua replies: task id, generation, and what it did. */
export type PeriodicReply = [id: string, generation: number, code: number];
export const PERIODIC_LEFT_ALONE = 0;
export const PERIODIC_CREATED = 1;
export const PERIODIC_RETIMED = 2;

/** @internal KEYS and ARGV of schedule-periodic.lua. */
export function periodicScriptArgs(
  keys: QueueKeys,
  call: PeriodicCall,
  id = randomUUID(),
): [string[], (string | number)[]] {
  const key = periodicKey(call.name);
  const s = call.schedule;
  const cron = s && 'cron' in s ? s : undefined;
  const boot = call.mode === 'boot';
  return [
    [keys.stream, keys.delayed, keys.keyState(key), keys.seq],
    [
      call.mode,
      id,
      call.name,
      boot ? 'null' : call.payload,
      key,
      call.queue,
      s === undefined ? '' : cron ? 'cron' : 'every',
      s && 'every' in s ? s.every : 0,
      cron?.cron ?? '',
      cron ? (cron.timezone ?? CRON_DEFAULT_TIMEZONE) : '',
      boot ? scheduleSignature(call.queue, call.schedule) : '',
      boot ? call.fires.join(',') : '',
      boot ? 0 : call.runAt,
      boot ? 0 : call.delayMs,
      keys.controlChannel,
    ],
  ];
}

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

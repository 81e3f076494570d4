import type { Redis } from 'ioredis';
import type { ResolvedTaskOptions } from './resolved-task-options';
import { CRON_DEFAULT_TIMEZONE, CRON_FIRES, cronFires } from './schedule';

/*
 * What periodic chains share: their calls' shapes and signatures, and the first fire times of a
 * cron. The script calls themselves are the typed wrappers beside the scripts
 * (schedule-periodic.script.ts, schedule-runtime.script.ts, cancel.script.ts).
 */

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
      /** Writes only when the chain is gone (see the script's header). */
      readonly mode: 'restore';
      readonly name: string;
      readonly queue: string;
      readonly schedule: Schedule;
      readonly fires: readonly number[];
      /** The restoring worker's boot time, in Redis's clock (epoch ms). */
      readonly bootedAt: number;
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

/**
 * @internal A chain's first fire times: for a cron, those after Redis's clock (never this
 * process's), none for an `every` (the script times it from Redis's clock itself).
 */
export async function firstFires(
  redis: Redis,
  schedule: { every: number } | { cron: string; timezone: string | undefined },
  key: string,
): Promise<number[]> {
  if (!('cron' in schedule)) return [];
  return cronFires(schedule.cron, schedule.timezone, await redisTimeMs(redis), CRON_FIRES, key);
}

/** @internal Redis's clock, in epoch ms. */
export async function redisTimeMs(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1_000 + Math.floor(Number(micros) / 1_000);
}

import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../redis/keys';
import { runScript } from '../redis/scripts';
import type { ResolvedTaskOptions } from '../task-options';
import { CRON_DEFAULT_TIMEZONE, cronFires, periodicKey } from './schedule';

/*
 * The script calls of periodic chains, in one place: decorator-defined (schedule-periodic.lua,
 * at boot and by replace() on a periodic key), runtime schedules (schedule-runtime.lua), and
 * cancel.lua, which also ends a runtime schedule.
 */

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

/**
 * @internal A chain's first fire times: for a cron, those after Redis's clock (never this
 * process's), none for an `every` (the script times it from Redis's clock itself).
 */
export async function firstFires(
  redis: Redis,
  schedule: { every: number } | { cron: string; timezone: string | undefined },
): Promise<number[]> {
  if (!('cron' in schedule)) return [];
  const [seconds, micros] = await redis.time();
  const now = Number(seconds) * 1_000 + Math.floor(Number(micros) / 1_000);
  return cronFires(schedule.cron, schedule.timezone, now);
}

/** @internal Runs schedule-periodic.lua (see its header). */
export function schedulePeriodic(redis: Redis, keys: QueueKeys, call: PeriodicCall): Promise<PeriodicReply> {
  return runScript<PeriodicReply>(redis, 'schedule-periodic', ...periodicScriptArgs(keys, call));
}

/** @internal A validated QueueClient.schedule(): what schedule-runtime.lua needs. */
export interface RuntimeScheduleCall {
  readonly name: string;
  readonly queue: string;
  readonly key: string;
  /** JSON text. */
  readonly payload: string;
  readonly schedule: { every: number } | { cron: string; timezone: string };
  /** A cron's next fire times after Redis's clock (empty for `every`). */
  readonly fires: readonly number[];
}

/**
 * @internal schedule-runtime.lua's reply: task id and generation of the chain's waiting run,
 * code (0 the same schedule was live, 1 created, 2 re-timed, -1 the key is held by a run that is
 * not a schedule), and the task name holding the key.
 */
export type RuntimeScheduleReply = [id: string, generation: number, code: 0 | 1 | 2 | -1, name: string];

/** @internal Runs schedule-runtime.lua (see its header). */
export function scheduleRuntime(
  redis: Redis,
  keys: QueueKeys,
  call: RuntimeScheduleCall,
  id = randomUUID(),
): Promise<RuntimeScheduleReply> {
  const s = call.schedule;
  const cron = 'cron' in s ? s : undefined;
  return runScript<RuntimeScheduleReply>(
    redis,
    'schedule-runtime',
    [keys.stream, keys.delayed, keys.keyState(call.key), keys.seq, keys.schedules],
    [
      id,
      call.name,
      call.payload,
      call.key,
      call.queue,
      cron ? 'cron' : 'every',
      'every' in s ? s.every : 0,
      cron?.cron ?? '',
      cron?.timezone ?? '',
      runtimeSignature(call),
      call.fires.join(','),
      keys.controlChannel,
      keys.doneChannel,
    ],
  );
}

/**
 * @internal What a runtime schedule is, as one string (field `sig` of its key state): the same
 * signature on a live schedule is left alone; schedules() reads its parts back.
 */
export interface RuntimeSignature {
  readonly name: string;
  readonly payload: string;
  readonly every?: number;
  readonly cron?: string;
  readonly timezone?: string;
}

function runtimeSignature({ name, payload, schedule }: RuntimeScheduleCall): string {
  const signature: RuntimeSignature = { name, payload, ...schedule };
  return JSON.stringify(signature);
}

/**
 * @internal Runs cancel.lua: cancels the live run of `key` and ends its runtime schedule, if
 * any; with `scheduleOnly` (unschedule), a key that is not a runtime schedule is left alone.
 */
export async function cancelKey(
  redis: Redis,
  keys: QueueKeys,
  key: string,
  keyStateTtlMs: number,
  scheduleOnly: boolean,
): Promise<boolean> {
  const done = await runScript<number>(
    redis,
    'cancel',
    [keys.stream, keys.delayed, keys.keyState(key), keys.seq, keys.schedules],
    [keyStateTtlMs, keys.controlChannel, key, keys.doneChannel, scheduleOnly ? '1' : '0'],
  );
  return done === 1;
}

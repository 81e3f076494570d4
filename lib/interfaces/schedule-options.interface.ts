import type { TaskState } from './task-status.interface';

/** Where a runtime schedule lives: its key (required) and, optionally, its queue. @publicApi */
interface ScheduleTarget {
  /**
   * Names the schedule: scheduling the same key again re-times it (or leaves it alone when
   * nothing changed). Keys starting with `periodic:` are reserved for `@Task` schedules.
   */
  key: string;
  /** Queue of the runs. Default: the task's queue when this process has its handler, else `default`. */
  queue?: string;
}

/**
 * Options of `QueueClient.schedule()`: a key and either `every` or `cron` (with `timezone`).
 * @publicApi
 */
export type ScheduleOptions =
  | (ScheduleTarget & {
      /** Period: milliseconds (10 to 10 years, 315,576,000,000), or '30s', '5m', '1h', '1d'. */
      every: number | string;
      cron?: undefined;
      timezone?: undefined;
    })
  | (ScheduleTarget & {
      /** Cron expression, five or six fields (seconds first). */
      cron: string;
      /** IANA time zone of `cron`, such as 'Europe/Paris'. Default UTC. */
      timezone?: string;
      every?: undefined;
    });

/** Options of `QueueClient.schedules()`: one page of a queue's runtime schedules. @publicApi */
export interface SchedulesOptions {
  /** Default `default`. */
  queue?: string;
  /** The `next` of the previous page; omit for the first page. */
  after?: string;
  /** Most schedules in the page, 1 to 1000. Default 100. */
  limit?: number;
}

/** One runtime schedule, as `schedules()` lists it. @publicApi */
export interface ScheduleInfo<P = unknown> {
  readonly key: string;
  readonly name: string;
  readonly queue: string;
  readonly payload: P;
  /** Period in milliseconds, for an `every` schedule. */
  readonly every?: number;
  readonly cron?: string;
  /** Time zone of a `cron` schedule. */
  readonly timezone?: string;
  /** State of the chain's current run (`delayed` while it waits for its slot). */
  readonly state: TaskState;
  /** Slot of the current run. */
  readonly nextRunAt?: Date;
  /** Undefined when the key's state holds none that reads as one (anyone can write it). */
  readonly generation: number | undefined;
}

/** A page of `schedules()`, in key order. @publicApi */
export interface SchedulePage<P = unknown> {
  readonly items: ScheduleInfo<P>[];
  /** Pass as `after` for the next page; undefined on the last page. */
  readonly next: string | undefined;
}

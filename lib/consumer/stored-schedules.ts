import type { Redis } from 'ioredis';
import type { QueueKeys } from '../redis/keys';
import type { Schedule } from '../task/periodic-call';
import { periodicKey } from '../task/schedule';
import type { TaskMessage } from '../task/task-message';

/** @internal The schedules of runtime-scheduled keys, by key, as their key states store them. */
export type StoredSchedules = ReadonlyMap<string, Schedule>;

export const NO_STORED_SCHEDULES: StoredSchedules = new Map();

/**
 * @internal A run of a runtime schedule (QueueClient.schedule): a periodic run (it carries its
 * slot) under a key that is not a `@Task` schedule's. Its timing is in Redis, not in the code.
 */
export function isRuntimeScheduleRun<M extends Pick<TaskMessage, 'dueAt' | 'key' | 'name'>>(
  m: M,
): m is M & { key: string } {
  return m.dueAt !== undefined && m.key !== undefined && m.key !== periodicKey(m.name);
}

/**
 * @internal Reads the stored schedule of each runtime-scheduled run among `messages`, in one
 * round trip (none when there is none: the common case costs nothing). A cron's successor needs
 * its next fire times, which only JavaScript computes; settle scripts re-check the stored
 * schedule, so one re-timed since this read is never followed.
 */
export async function readStoredSchedules(
  redis: Redis,
  keys: QueueKeys,
  messages: readonly Pick<TaskMessage, 'dueAt' | 'key' | 'name'>[],
): Promise<StoredSchedules> {
  const scheduled = [...new Set(messages.filter(isRuntimeScheduleRun).map((m) => m.key))];
  if (scheduled.length === 0) return NO_STORED_SCHEDULES;
  const pipeline = redis.pipeline();
  for (const key of scheduled) pipeline.hmget(keys.keyState(key), 'rt', 'sk', 'every', 'cron', 'tz');
  const replies = (await pipeline.exec()) ?? [];
  const stored = new Map<string, Schedule>();
  scheduled.forEach((key, i) => {
    const [error, fields] = replies[i] ?? [new Error('no reply')];
    if (error) throw error;
    const [runtime, kind, every, cron, tz] = fields as (string | null)[];
    if (runtime !== '1') return;
    if (kind === 'every' && Number(every) > 0) stored.set(key, { every: Number(every) });
    if (kind === 'cron' && cron) stored.set(key, { cron, timezone: tz ?? undefined });
  });
  return stored;
}

import type { Redis } from 'ioredis';
import type { QueueKeys } from '../redis/keys';
import { isWrongType } from '../redis/wrong-type';
import type { Schedule } from '../task/periodic-call';
import { quotedText } from '../quoted-text';
import { checkCron, parseEvery, periodicKey } from '../task/schedule';
import type { TaskMessage } from '../task/task-message';

/**
 * @internal A runtime schedule as its key state stores it: a schedule the API would accept, or
 * why the stored one is not (anyone with Redis access can write it).
 */
export type StoredSchedule = Schedule | { readonly unreadable: string };

/** @internal The schedules of runtime-scheduled keys, by key, as their key states store them. */
export type StoredSchedules = ReadonlyMap<string, StoredSchedule>;

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
  const stored = new Map<string, StoredSchedule>();
  scheduled.forEach((key, i) => {
    const [error, fields] = replies[i] ?? [new Error('no reply')];
    // A key state that is not a hash reads as none (isWrongType): their run is stale, and it
    // must not fail the settle of the batch's other runs.
    if (isWrongType(error)) return;
    if (error) throw error;
    const [runtime, kind, every, cron, tz] = fields as (string | null)[];
    if (runtime === '1') stored.set(key, storedSchedule(kind, every, cron, tz));
  });
  return stored;
}

/**
 * A key state's schedule, checked as schedule() checks its options: `every 0.001` ran the chain
 * back to back, `every 1e300` timed successors never due, and `every x` or `cron ''` read as no
 * schedule, which ended the chain. An unreadable one still gets a successor, timed by the settle
 * script from the key state alone (see timingIfComputable).
 */
function storedSchedule(kind: string | null, every: string | null, cron: string | null, tz: string | null) {
  try {
    if (kind === 'every') return { every: parseEvery('every', every === null ? undefined : Number(every)) };
    if (kind === 'cron') {
      checkCron('cron', cron ?? undefined, tz ?? undefined);
      return { cron: cron!, timezone: tz ?? undefined };
    }
    return { unreadable: `schedule kind ${kind === null ? 'missing' : quotedText(kind)}` };
  } catch (error) {
    return { unreadable: (error as Error).message };
  }
}

import type { Redis } from 'ioredis';
import type { ScheduleInfo, SchedulePage } from '../interfaces';
import type { QueueKeys } from '../redis/keys';
import { hashFieldsOrNone } from '../redis/wrong-type';
import type { RuntimeSignature } from '../scripts/schedule-runtime.script';
import { checkCron, parseEvery } from '../task/schedule';
import { storedGeneration } from './key-state-numbers';
import { dateOf } from './listed-task';
import { keyRunState } from './task-status';

/**
 * @internal One page of a queue's runtime schedules: each partition's index (a sorted set of
 * keys, all of score 0) in lex order after `after`, merged in Redis's byte order, then each key's
 * state (in its own partition's slot). A key whose state is gone (its chain ended and expired),
 * is not a hash (isWrongType), or holds no run state a key can have (keyRunState), is skipped, and paging goes on past it; so
 * is one whose stored schedule cannot be read (see scheduleOf).
 */
export async function readSchedules(
  redis: Redis,
  partitions: readonly QueueKeys[],
  after: string,
  limit: number,
): Promise<SchedulePage> {
  // One more than the page from each partition: it says whether a next page exists.
  const perPartition = await Promise.all(
    partitions.map(async (keys) =>
      (await redis.zrange(keys.schedules, after ? `(${after}` : '-', '+', 'BYLEX', 'LIMIT', 0, limit + 1)).map(
        (key) => ({ key, keys }),
      ),
    ),
  );
  const found = perPartition.flat().sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  const page = found.slice(0, limit);
  const states = await Promise.all(
    page.map(({ key, keys }) => hashFieldsOrNone(redis.hmget(keys.keyState(key), 'sig', 'state', 'dueAt', 'gen'), 4)),
  );
  const items: ScheduleInfo[] = [];
  page.forEach(({ key, keys }, i) => {
    const [sig, stored, dueAt, gen] = states[i];
    const state = keyRunState(stored);
    const schedule = sig && state ? scheduleOf(sig) : undefined;
    if (!state || !schedule) return;
    const { name, payload, every, cron, timezone } = schedule;
    items.push({
      key,
      name,
      // The queue whose index lists it, never the state's field queue: anyone can write that one.
      queue: keys.queue,
      payload,
      ...(every !== undefined ? { every } : { cron, timezone }),
      state,
      nextRunAt: dueAt ? dateOf(Number(dueAt)) : undefined,
      generation: storedGeneration(gen ?? undefined),
    });
  });
  return { items, next: found.length > limit ? page[page.length - 1].key : undefined };
}

/**
 * A key's stored signature (schedule-runtime.lua writes it) with its payload decoded, or
 * undefined when it is not one: anyone can write the key's state, and one entry that does not
 * parse must not fail the page (JSON.parse threw) and hide every other schedule. Its timing is
 * one schedule() accepts, or none (`"every":1e400` parsed as Infinity, `"cron":""` was listed).
 */
function scheduleOf(sig: string): (Omit<RuntimeSignature, 'payload'> & { payload: unknown }) | undefined {
  try {
    const s = JSON.parse(sig) as Record<string, unknown> | null;
    if (typeof s !== 'object' || s === null || typeof s.name !== 'string' || typeof s.payload !== 'string') return;
    const { name, every, cron, timezone } = s;
    if (every !== undefined) {
      // parseEvery also reads a duration text ('30s'): a signature holds the period in ms.
      if (typeof every !== 'number' || cron !== undefined || timezone !== undefined) return;
      parseEvery('every', every);
    } else checkCron('cron', cron, timezone);
    return {
      name,
      ...(every !== undefined ? { every: every as number } : { cron: cron as string, timezone: timezone as string }),
      payload: JSON.parse(s.payload) as unknown,
    };
  } catch {
    return undefined;
  }
}

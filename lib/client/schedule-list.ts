import type { Redis } from 'ioredis';
import type { ScheduleInfo, SchedulePage, TaskState } from '../interfaces';
import type { QueueKeys } from '../redis/keys';
import type { RuntimeSignature } from '../scripts/schedule-runtime.script';

/**
 * @internal One page of a queue's runtime schedules: the index (a sorted set of keys, all of
 * score 0) in lex order after `after`, then each key's state in one pipeline. A key whose state
 * is gone (its chain ended and expired) is skipped, and paging goes on past it.
 */
export async function readSchedules(
  redis: Redis,
  keys: QueueKeys,
  after: string,
  limit: number,
): Promise<SchedulePage> {
  // One more than the page: it says whether a next page exists.
  const found = await redis.zrange(keys.schedules, after ? `(${after}` : '-', '+', 'BYLEX', 'LIMIT', 0, limit + 1);
  const page = found.slice(0, limit);
  const pipeline = redis.pipeline();
  for (const key of page) pipeline.hmget(keys.keyState(key), 'sig', 'state', 'dueAt', 'gen', 'queue');
  const replies = page.length > 0 ? ((await pipeline.exec()) ?? []) : [];
  const items: ScheduleInfo[] = [];
  page.forEach((key, i) => {
    const [error, fields] = replies[i] ?? [new Error('no reply')];
    if (error) throw error;
    const [sig, state, dueAt, gen, queue] = fields as (string | null)[];
    if (!sig || !state) return;
    const { name, payload, every, cron, timezone } = JSON.parse(sig) as RuntimeSignature;
    items.push({
      key,
      name,
      queue: queue ?? keys.queue,
      payload: JSON.parse(payload) as unknown,
      ...(every !== undefined ? { every } : { cron, timezone }),
      state: state as TaskState,
      nextRunAt: dueAt ? new Date(Number(dueAt)) : undefined,
      generation: Number(gen ?? 0),
    });
  });
  return { items, next: found.length > limit ? page[page.length - 1] : undefined };
}

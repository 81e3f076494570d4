import type { Redis } from 'ioredis';
import type { ScheduleInfo, SchedulePage, TaskState } from '../interfaces';
import type { QueueKeys } from '../redis/keys';
import type { RuntimeSignature } from '../scripts/schedule-runtime.script';

/**
 * @internal One page of a queue's runtime schedules: each partition's index (a sorted set of
 * keys, all of score 0) in lex order after `after`, merged in Redis's byte order, then each key's
 * state (in its own partition's slot). A key whose state is gone (its chain ended and expired) is
 * skipped, and paging goes on past it.
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
    page.map(({ key, keys }) => redis.hmget(keys.keyState(key), 'sig', 'state', 'dueAt', 'gen', 'queue')),
  );
  const items: ScheduleInfo[] = [];
  page.forEach(({ key, keys }, i) => {
    const [sig, state, dueAt, gen, queue] = states[i];
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
  return { items, next: found.length > limit ? page[page.length - 1].key : undefined };
}

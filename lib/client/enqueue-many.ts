import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../redis/keys';
import type { ScriptCall } from '../redis/scripts';
import { enqueueManyScript } from '../scripts/enqueue-many.script';
import { enqueueScript } from '../scripts/enqueue.script';
import { enqueueManyChunks, type EnqueueCall, type EnqueueReply } from './enqueue-call';

/** @internal What Redis answered for one call of a batch: its reply, or why it was not written. */
export type EnqueueOutcome = { readonly reply: EnqueueReply } | { readonly error: Error };

/**
 * @internal Sends a validated batch in one pipeline (one round trip) and reports each call's
 * outcome in input order. Unkeyed tasks of a queue go by enqueue-many.lua, in bounded chunks;
 * keyed ones each need their own enqueue.lua call (dedupe, generation). Each script call is
 * atomic, and Redis fails one before its first write (OOM, a key of the wrong type), so an
 * error reply means its tasks were not written; a lost connection leaves that unknown.
 */
export async function sendEnqueueMany(
  redis: Redis,
  calls: readonly EnqueueCall[],
  keysOf: (queue: string) => QueueKeys,
): Promise<EnqueueOutcome[]> {
  const outcomes: EnqueueOutcome[] = [];
  const sent: ScriptCall<unknown>[] = [];
  const onReply: Array<(error: Error | null, reply: unknown) => void> = [];
  const pipeline = redis.pipeline();
  for (const [queue, indexes] of unkeyedIndexesByQueue(calls)) {
    for (const chunk of enqueueManyChunks(indexes, (i) => calls[i])) {
      const ids = chunk.map(() => randomUUID());
      sent.push(
        enqueueManyScript(
          keysOf(queue),
          chunk.map((i, j) => ({ ...calls[i], id: ids[j] })),
        ),
      );
      // enqueue-many.lua answers each task's stream entry id (none for a delayed one).
      onReply.push((error, reply) =>
        chunk.forEach((i, j) => {
          const entryId = (reply as (string | undefined)[] | undefined)?.[j];
          outcomes[i] = error ? { error } : { reply: { outcome: 'created', id: ids[j], generation: 0, entryId } };
        }),
      );
    }
  }
  calls.forEach((call, i) => {
    if (call.key === undefined) return;
    sent.push(enqueueScript(keysOf(call.queue), { ...call, id: randomUUID() }));
    onReply.push((error, reply) => (outcomes[i] = error ? { error } : { reply: reply as EnqueueReply }));
  });
  for (const call of sent) call.queueOn(pipeline);
  let replies: [Error | null, unknown][];
  try {
    replies = ((await pipeline.exec()) ?? []) as [Error | null, unknown][];
  } catch (error) {
    replies = onReply.map(() => [error as Error, undefined]);
  }
  onReply.forEach((settle, i) => {
    const [error, reply] = replies[i] ?? [new Error('Redis sent no reply for this enqueue.'), undefined];
    if (error) return settle(error, undefined);
    let decoded: unknown;
    try {
      decoded = sent[i].decode(reply);
    } catch (decodeError) {
      return settle(decodeError as Error, undefined);
    }
    settle(null, decoded);
  });
  return outcomes;
}

/** Positions of the unkeyed calls, grouped by queue. */
function unkeyedIndexesByQueue(calls: readonly EnqueueCall[]): Map<string, number[]> {
  const byQueue = new Map<string, number[]>();
  calls.forEach((call, i) => {
    if (call.key !== undefined) return;
    const indexes = byQueue.get(call.queue);
    if (indexes) indexes.push(i);
    else byQueue.set(call.queue, [i]);
  });
  return byQueue;
}

import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { runScript } from '../redis/scripts';
import {
  enqueueManyChunks,
  enqueueManyScriptArgs,
  enqueueScriptArgs,
  type EnqueueCall,
  type EnqueueReply,
} from './enqueue-call';

/** @internal What Redis answered for one call of a batch: its reply, or why it was not written. */
export type EnqueueOutcome = { readonly reply: EnqueueReply } | { readonly error: Error };

/**
 * @internal Sends a validated batch in one pipeline (one round trip) and reports each call's
 * outcome in input order. Unkeyed tasks of a queue go by enqueue-many.lua, in bounded chunks;
 * keyed ones each need their own enqueue.lua call (dedupe, generation). Each script call is
 * atomic, and Redis fails one before its first write (OOM, a key of the wrong type), so an
 * error reply means its tasks were not written; a lost connection leaves that unknown.
 */
export async function sendEnqueueMany(redis: Redis, calls: readonly EnqueueCall[]): Promise<EnqueueOutcome[]> {
  const outcomes: EnqueueOutcome[] = [];
  const onReply: Array<(error: Error | null, reply: unknown) => void> = [];
  const pipeline = redis.pipeline();
  for (const indexes of unkeyedIndexesByStream(calls).values()) {
    for (const chunk of enqueueManyChunks(indexes, (i) => calls[i])) {
      const ids = chunk.map(() => randomUUID());
      const chunkCalls = chunk.map((i) => calls[i]);
      runScript(pipeline, 'enqueue-many', ...enqueueManyScriptArgs(chunkCalls[0].keys, chunkCalls, ids));
      // enqueue-many.lua answers each task's stream entry id ('' for a delayed one).
      onReply.push((error, reply) =>
        chunk.forEach((i, j) => {
          const entryId = Array.isArray(reply) ? String(reply[j] ?? '') : '';
          outcomes[i] = error ? { error } : { reply: [ids[j], 0, 1, entryId, calls[i].name] };
        }),
      );
    }
  }
  calls.forEach((call, i) => {
    if (call.key === undefined) return;
    runScript(pipeline, 'enqueue', ...enqueueScriptArgs(call.keys, call));
    onReply.push((error, reply) => (outcomes[i] = error ? { error } : { reply: reply as EnqueueReply }));
  });
  let replies: [Error | null, unknown][];
  try {
    replies = ((await pipeline.exec()) ?? []) as [Error | null, unknown][];
  } catch (error) {
    replies = onReply.map(() => [error as Error, undefined]);
  }
  onReply.forEach((settle, i) => {
    const [error, reply] = replies[i] ?? [new Error('Redis sent no reply for this enqueue.'), undefined];
    settle(error, reply);
  });
  return outcomes;
}

/** Positions of the unkeyed calls, grouped by stream (a queue's partition). */
function unkeyedIndexesByStream(calls: readonly EnqueueCall[]): Map<string, number[]> {
  const byStream = new Map<string, number[]>();
  calls.forEach((call, i) => {
    if (call.key !== undefined) return;
    const indexes = byStream.get(call.keys.stream);
    if (indexes) indexes.push(i);
    else byStream.set(call.keys.stream, [i]);
  });
  return byStream;
}

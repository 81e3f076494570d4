import { randomUUID } from 'node:crypto';
import type { ChainableCommander, Redis } from 'ioredis';
import type { QueueKeys } from '../redis/keys';
import { runScript } from '../redis/scripts';
import { pipelineGroups } from '../redis/topology';
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
export async function sendEnqueueMany(
  redis: Redis,
  calls: readonly EnqueueCall[],
  keysOf: (queue: string) => QueueKeys,
): Promise<EnqueueOutcome[]> {
  const outcomes: EnqueueOutcome[] = [];
  const sends: ScriptSend[] = [];
  for (const [queue, indexes] of unkeyedIndexesByQueue(calls)) {
    for (const chunk of enqueueManyChunks(indexes, (i) => calls[i])) {
      const ids = chunk.map(() => randomUUID());
      const chunkCalls = chunk.map((i) => calls[i]);
      const keys = keysOf(queue);
      sends.push({
        stream: keys.stream,
        queue: (pipeline) => runScript(pipeline, 'enqueue-many', ...enqueueManyScriptArgs(keys, chunkCalls, ids)),
        // enqueue-many.lua answers each task's stream entry id ('' for a delayed one).
        settle: (error, reply) =>
          chunk.forEach((i, j) => {
            const entryId = Array.isArray(reply) ? String(reply[j] ?? '') : '';
            outcomes[i] = error ? { error } : { reply: [ids[j], 0, 1, entryId, calls[i].name] };
          }),
      });
    }
  }
  calls.forEach((call, i) => {
    if (call.key === undefined) return;
    const keys = keysOf(call.queue);
    sends.push({
      stream: keys.stream,
      queue: (pipeline) => runScript(pipeline, 'enqueue', ...enqueueScriptArgs(keys, call)),
      settle: (error, reply) => (outcomes[i] = error ? { error } : { reply: reply as EnqueueReply }),
    });
  });
  await Promise.all(pipelineGroups(redis, sends, (send) => send.stream).map((part) => sendPipeline(redis, part)));
  return outcomes;
}

/** One script call of a batch: how it is queued on a pipeline, and what its reply settles. */
interface ScriptSend {
  readonly stream: string;
  readonly queue: (pipeline: ChainableCommander) => void;
  readonly settle: (error: Error | null, reply: unknown) => void;
}

async function sendPipeline(redis: Redis, sends: ScriptSend[]): Promise<void> {
  const pipeline = redis.pipeline();
  for (const send of sends) send.queue(pipeline);
  let replies: [Error | null, unknown][];
  try {
    replies = ((await pipeline.exec()) ?? []) as [Error | null, unknown][];
  } catch (error) {
    replies = sends.map(() => [error as Error, undefined]);
  }
  sends.forEach((send, i) => {
    const [error, reply] = replies[i] ?? [new Error('Redis sent no reply for this enqueue.'), undefined];
    send.settle(error, reply);
  });
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

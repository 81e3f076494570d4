import { newTaskId } from '../partitions/task-ids';
import type { Redis } from 'ioredis';
import type { ScriptCall } from '../redis/scripts';
import { execReplies } from '../redis/pipeline-replies';
import { pipelineGroups } from '../redis/topology';
import { enqueueManyScript } from '../scripts/enqueue-many.script';
import { enqueueScriptFor, judgedReply, ownerJudgedCall, type EnqueueScriptReply } from './enqueue-script';
import type { OwnerToJudge } from '../scripts/enqueue.script';
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
export async function sendEnqueueMany(redis: Redis, calls: readonly EnqueueCall[]): Promise<EnqueueOutcome[]> {
  const outcomes: EnqueueOutcome[] = [];
  const sends: ScriptSend[] = [];
  for (const indexes of unkeyedIndexesByStream(calls).values()) {
    for (const chunk of enqueueManyChunks(indexes, (i) => calls[i])) {
      const { keys, partitions } = calls[chunk[0]];
      const ids = chunk.map(() => newTaskId(keys.partition));
      sends.push({
        stream: keys.stream,
        script: enqueueManyScript(
          keys,
          chunk.map((i, j) => ({ ...calls[i], id: ids[j] })),
          partitions,
        ),
        // enqueue-many.lua answers each task's stream entry id (none for a delayed one).
        settle: (error, reply) =>
          chunk.forEach((i, j) => {
            const entryId = (reply as (string | undefined)[] | undefined)?.[j];
            outcomes[i] = error ? { error } : { reply: { outcome: 'created', id: ids[j], generation: 0, entryId } };
          }),
      });
    }
  }
  const judging: { i: number; asked: OwnerToJudge }[] = [];
  calls.forEach((call, i) => {
    if (call.key === undefined && !call.flow) return;
    sends.push({
      stream: call.keys.stream,
      // Keyed (dedupe, generation) or under flow control (admission): a script call each.
      script: enqueueScriptFor(call),
      settle: (error, reply) => {
        const answer = reply as EnqueueScriptReply;
        if (error) outcomes[i] = { error };
        else if (answer.outcome === 'judge-owner') judging.push({ i, asked: answer });
        else outcomes[i] = { reply: answer };
      },
    });
  });
  // One pipeline on one node; one per slot on a cluster, sent together.
  await Promise.all(pipelineGroups(redis, sends, (send) => send.stream).map((part) => sendPipeline(redis, part)));
  // Calls that asked for the lease of the owner of their key's running run (they wrote nothing):
  // once more each, judging it (see sendEnqueue).
  await Promise.all(
    judging.map(async ({ i, asked }) => {
      try {
        outcomes[i] = { reply: judgedReply(await ownerJudgedCall(calls[i], asked).run(redis)) };
      } catch (error) {
        outcomes[i] = { error: error as Error };
      }
    }),
  );
  return outcomes;
}

/** One script call of a batch, and what its decoded reply settles. */
interface ScriptSend {
  readonly stream: string;
  readonly script: ScriptCall<unknown>;
  readonly settle: (error: Error | null, reply: unknown) => void;
}

async function sendPipeline(redis: Redis, sends: ScriptSend[]): Promise<void> {
  const pipeline = redis.pipeline();
  for (const send of sends) send.script.queueOn(pipeline);
  const replies = await execReplies(pipeline, sends.length);
  sends.forEach((send, i) => {
    const [error, reply] = replies[i];
    if (error) return send.settle(error, undefined);
    let decoded: unknown;
    try {
      decoded = send.script.decode(reply);
    } catch (decodeError) {
      return send.settle(decodeError as Error, undefined);
    }
    send.settle(null, decoded);
  });
}

/** Positions of the unkeyed calls, grouped by stream (a queue's partition). */
function unkeyedIndexesByStream(calls: readonly EnqueueCall[]): Map<string, number[]> {
  const byStream = new Map<string, number[]>();
  calls.forEach((call, i) => {
    if (call.key !== undefined || call.flow) return;
    const indexes = byStream.get(call.keys.stream);
    if (indexes) indexes.push(i);
    else byStream.set(call.keys.stream, [i]);
  });
  return byStream;
}

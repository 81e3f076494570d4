import type { ChainableCommander } from 'ioredis';
import { ABORTED, SENT, withSuffix } from './unanswered-given-up';

/** @internal One command's outcome in a pipeline: its error, or its reply. */
export type PipelineReply = [error: Error | null, reply: unknown];

/**
 * @internal Sends a pipeline of `count` commands and answers each one's outcome, in order: a
 * failed exec (a lost connection) fails every command, a missing reply fails its command. A
 * command aborted unanswered (ABORTED) says that it may have run: a group-committed enqueue()
 * or an enqueueMany item rejected so may have written its task.
 */
export async function execReplies(pipeline: ChainableCommander, count: number): Promise<PipelineReply[]> {
  let replies: PipelineReply[];
  try {
    replies = ((await pipeline.exec()) ?? []) as PipelineReply[];
  } catch (error) {
    return Array.from({ length: count }, () => [error as Error, undefined]);
  }
  return Array.from({ length: count }, (_, i) => {
    const [error, reply] = replies[i] ?? [new Error('Redis sent no reply.'), undefined];
    return [error?.message === ABORTED ? withSuffix(error, SENT) : error, reply];
  });
}

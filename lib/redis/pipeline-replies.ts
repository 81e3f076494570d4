import type { ChainableCommander } from 'ioredis';
import { SENT, withSuffix } from './unanswered-given-up';

/** @internal One command's outcome in a pipeline: its error, or its reply. */
export type PipelineReply = [error: Error | null, reply: unknown];

/**
 * ioredis's rejection of a pipeline's command still unanswered when its connection closed after
 * Redis answered an earlier one of the pipeline: it resends a pipeline only from its start, so
 * this command is not resent, though it was written and Redis may have run it.
 */
const ABORTED = 'Command aborted due to connection close';

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

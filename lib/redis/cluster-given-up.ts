import type { Redis } from 'ioredis';
import type { CommandFilter, QueuedCommand } from './module-commands';
import { ABORTED, givenUpError } from './unanswered-given-up';

/** A command as the Cluster sends it (internal, wrapped only here). */
interface ClusterCommand extends QueuedCommand {
  reject(error: Error): void;
  /** An ASKING ioredis put in a pipeline: it has no reply of its own. */
  ignore?: boolean;
}
type PipelineReply = [Error | null, unknown];
/** ioredis's pipeline (internal): its commands, in order, and its exec. */
interface ClusterPipeline {
  _queue: ClusterCommand[];
  /** MULTIs not yet closed by an exec(), which then queues their EXEC and returns the pipeline. */
  _transactions: number;
  exec(callback?: (error: Error | null, replies?: PipelineReply[] | null) => void): Promise<PipelineReply[] | null>;
}

/** A Cluster's statuses once the application closes it. */
const ENDING = new Set<string>(['end', 'disconnecting']);

/** Whether `error` is the Cluster's give-up after maxRedirections tries. */
const isRedirectionGiveUp = (error: Error | undefined): boolean =>
  String(error?.message).startsWith('Too many Cluster redirections');

/** What a node connection that closed rejects its commands with (ioredis's CONNECTION_CLOSED_ERROR_MSG). */
const CLOSED = 'Connection is closed.';

/**
 * @internal The errors an ioredis Cluster gives a call up with when its node's connection dropped,
 * typed as a single node's are (RedisUnreachableError, ioredis's error its cause, unanswered-given-up.ts):
 * - a command: the Cluster tries it again, `retryDelayOnFailover` apart, through a new connection
 *   to the node serving its slot, and gives it up after `maxRedirections` (16) with
 *   `Too many Cluster redirections. Last error: ...`;
 * - a pipeline's command: one left unanswered when its connection closed after an earlier one
 *   was answered is aborted (`Command aborted due to connection close`); a pipeline none of
 *   whose replies came is tried again as a whole, then left with `Connection is closed.`.
 * `mayHaveRun`: whether a node connection wrote it (`wasWritten`, see watchNodeWrites); an
 * aborted one was. Only the commands `given` selects (a Cluster handed in: the module's own).
 * Returns the removal (a Cluster handed in outlives the application).
 */
export function typeClusterGiveUps(
  cluster: Redis,
  addressOf: () => string,
  given: CommandFilter,
  wasWritten: (command: object) => boolean,
): () => void {
  let active = true;
  const wrapped = new WeakSet<object>();
  const givenUp = (command: ClusterCommand, error: Error, aborted = false): Error =>
    givenUpError(addressOf(), error, undefined, aborted || wasWritten(command));
  const client = cluster as unknown as {
    sendCommand(command: ClusterCommand, stream?: unknown, node?: unknown): unknown;
    pipeline(...args: unknown[]): ClusterPipeline;
  };
  const send = client.sendCommand;
  const sendCommand = function (this: unknown, command: ClusterCommand, stream?: unknown, node?: unknown) {
    // A pipeline's commands come with their node: typed by the pipeline's exec, below.
    if (active && node === undefined && !wrapped.has(command) && given(command)) {
      wrapped.add(command);
      // Wrapped before the Cluster wraps it for its retries: this is what it rejects with last.
      const reject = command.reject;
      command.reject = function (this: ClusterCommand, error: Error) {
        const redirected = active && isRedirectionGiveUp(error);
        reject.call(this, redirected ? givenUp(command, error) : error);
      };
    }
    return send.call(this, command, stream, node);
  };
  const pipelineOf = client.pipeline;
  const pipeline = function (this: unknown, ...args: unknown[]) {
    const made = pipelineOf.apply(this, args);
    const exec = made.exec;
    made.exec = function (this: ClusterPipeline, ...args: [callback?: Parameters<ClusterPipeline['exec']>[0]]) {
      // Not a send (`pipeline().multi()...exec()` then `.exec()`): ioredis's own, the pipeline returned.
      if (this._transactions > 0) return exec.apply(this, args);
      const [callback] = args;
      const typed = exec.call(this).then((replies) => (active && replies ? typeReplies(this, replies) : replies));
      if (callback)
        typed.then(
          (replies) => callback(null, replies),
          (error: Error) => callback(error),
        );
      return typed;
    };
    return made;
  };
  const typeReplies = (made: ClusterPipeline, replies: PipelineReply[]): PipelineReply[] => {
    const sent = made._queue.filter((command) => !command.ignore);
    return replies.map(([error, reply], i) => {
      const command = sent[i];
      if (!error || !command || !given(command)) return [error, reply];
      if (error.message === ABORTED) return [givenUp(command, error, true), reply];
      // Closing or ended (the application closed it): refused at close, not unreachable (see refusedAtClose).
      if (error.message === CLOSED && ENDING.has(cluster.status)) return [error, reply];
      if (error.message === CLOSED || isRedirectionGiveUp(error)) return [givenUp(command, error), reply];
      return [error, reply];
    });
  };
  client.sendCommand = sendCommand;
  client.pipeline = pipeline;
  return () => {
    active = false;
    // Left as pass-throughs when another wrapper was put over them since.
    if (client.sendCommand === sendCommand) client.sendCommand = send;
    if (client.pipeline === pipeline) client.pipeline = pipelineOf;
  };
}

import type { Redis } from 'ioredis';
import type { CommandFilter, QueuedCommand } from './module-commands';
import { addMethodLayer, type MethodLayer } from './method-layers';
import { ABORTED, givenUpError } from './unanswered-given-up';

/** A command as the Cluster sends it (internal, wrapped only here). */
interface ClusterCommand extends QueuedCommand {
  reject(error: Error): void;
  /** An ASKING ioredis put in a pipeline: it has no reply of its own. */
  ignore?: boolean;
}
type SendArgs = [command: ClusterCommand, stream?: unknown, node?: unknown];
type PipelineReply = [Error | null, unknown];
/** ioredis's pipeline (internal): its commands, in order, and its exec. */
interface ClusterPipeline {
  _queue: ClusterCommand[];
  /** MULTIs not yet closed by an exec(), which then queues their EXEC and returns the pipeline. */
  _transactions: number;
  exec(callback?: (error: Error | null, replies?: PipelineReply[] | null) => void): Promise<PipelineReply[] | null>;
}

/** The Cluster's methods wrapped here (internal). */
interface ClusterClient {
  sendCommand(...args: SendArgs): unknown;
  pipeline(...args: unknown[]): ClusterPipeline;
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
  const client = cluster as unknown as ClusterClient;
  const sendCommand: MethodLayer<ClusterClient, SendArgs, unknown> = (self, send, command, stream, node) => {
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
    return send(self, command, stream, node);
  };
  const pipeline: MethodLayer<ClusterClient, unknown[], ClusterPipeline> = (self, pipelineOf, ...args) => {
    const made = pipelineOf(self, ...args);
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
  // One wrapper of each on the Cluster for every application booted on it (see addMethodLayer).
  const removals = [addMethodLayer(client, 'sendCommand', sendCommand), addMethodLayer(client, 'pipeline', pipeline)];
  return () => {
    active = false;
    for (const remove of removals) remove();
  };
}

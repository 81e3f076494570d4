import type { Redis } from 'ioredis';
import type { CommandFilter, QueuedCommand } from './module-commands';
import { closedByHand } from './connection-end';
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
  multi(...args: unknown[]): ClusterPipeline | Promise<unknown>;
}

/** Whether `error` is the Cluster's give-up after maxRedirections tries. */
const isRedirectionGiveUp = (error: Error | undefined): boolean =>
  String(error?.message).startsWith('Too many Cluster redirections');

/** What a node connection that closed rejects its commands with (ioredis's CONNECTION_CLOSED_ERROR_MSG). */
const CLOSED = 'Connection is closed.';
/** What the Cluster rejects its offline queue with as it ends (closed, or its clusterRetryStrategy gave up). */
const NONE_AVAILABLE = 'None of startup nodes is available';

/**
 * @internal The errors an ioredis Cluster gives a call up with when its node's connection dropped,
 * typed as a single node's are (RedisUnreachableError, ioredis's error its cause, unanswered-given-up.ts):
 * - a command: the Cluster tries it again, `retryDelayOnFailover` apart, through a new connection
 *   to the node serving its slot, and gives it up after `maxRedirections` (16) with
 *   `Too many Cluster redirections. Last error: ...`;
 * - a pipeline's command: one left unanswered when its connection closed after an earlier one
 *   was answered is aborted (`Command aborted due to connection close`); a pipeline none of
 *   whose replies came is tried again as a whole, then left with `Connection is closed.`.
 * - either, its node connection closed while the Cluster was not ready (every other node gone, it
 *   reconnects): not tried again, left with `Connection is closed.`;
 * - a command in the Cluster's offline queue when the Cluster ends on its own (its
 *   clusterRetryStrategy gave up): `None of startup nodes is available`; one sent after that end,
 *   `Connection is closed.` (a Cluster closed by hand, at the application's close, keeps both);
 * - a transaction (`multi()`, which builds its pipeline without pipeline()): its EXEC's error, as
 *   a pipeline's command's. The EXEC written says whether it may have run.
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
  // The error the Cluster left `command` with, typed when it gave the command up.
  const typeError = (command: ClusterCommand, error: Error): Error => {
    if (!active || !given(command)) return error;
    if (error.message === ABORTED) return givenUp(command, error, true);
    // Closed by hand (the application, at close): refused at close, not unreachable (see refusedAtClose).
    if ((error.message === CLOSED || error.message === NONE_AVAILABLE) && closedByHand(cluster)) return error;
    // Closing (by hand, or to reconnect): as it was.
    if (error.message === CLOSED && (cluster.status as string) === 'disconnecting') return error;
    // Ended on its own (its clusterRetryStrategy gave up): as unreachable as a give-up by the bound.
    if (error.message === CLOSED || error.message === NONE_AVAILABLE || isRedirectionGiveUp(error))
      return givenUp(command, error);
    return error;
  };
  const client = cluster as unknown as ClusterClient;
  const sendCommand: MethodLayer<ClusterClient, SendArgs, unknown> = (self, send, command, stream, node) => {
    // A pipeline's commands come with their node: typed by the pipeline's exec, below.
    if (active && node === undefined && !wrapped.has(command) && given(command)) {
      wrapped.add(command);
      // Wrapped before the Cluster wraps it for its retries: this is what it rejects with last.
      const reject = command.reject;
      command.reject = function (this: ClusterCommand, error: Error) {
        reject.call(this, typeError(command, error));
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
      return [error && command ? typeError(command, error) : error, reply];
    });
  };
  const multi: MethodLayer<ClusterClient, unknown[], ClusterPipeline | Promise<unknown>> = (self, multiOf, ...args) => {
    const made = multiOf(self, ...args);
    // `multi({ pipeline: false })` sends a bare MULTI: its commands are single ones, typed above.
    if (!Array.isArray((made as Partial<ClusterPipeline>)._queue)) return made;
    const transaction = made as ClusterPipeline;
    const exec = transaction.exec;
    transaction.exec = function (this: ClusterPipeline, ...args: [callback?: Parameters<ClusterPipeline['exec']>[0]]) {
      const [callback] = args;
      // ioredis rejects a transaction with its EXEC's error (it queues the EXEC in this exec).
      const typedExec = exec.call(this).catch((error: Error) => {
        const execCommand = this._queue.filter((command) => !command.ignore).at(-1);
        throw execCommand ? typeError(execCommand, error) : error;
      });
      // ioredis's own delayed exec passes the pipeline where a callback goes.
      if (typeof callback === 'function')
        typedExec.then(
          (replies) => callback(null, replies),
          (error: Error) => callback(error),
        );
      return typedExec;
    };
    return made;
  };
  // One wrapper of each on the Cluster for every application booted on it (see addMethodLayer).
  const removals = [
    addMethodLayer(client, 'sendCommand', sendCommand),
    addMethodLayer(client, 'pipeline', pipeline),
    addMethodLayer(client, 'multi', multi),
  ];
  return () => {
    active = false;
    for (const remove of removals) remove();
  };
}

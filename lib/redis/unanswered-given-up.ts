import type { Redis } from 'ioredis';
import { RedisUnreachableError } from '../errors';
import { addMethodLayer, type MethodLayer } from './method-layers';
import {
  takeOutSelected,
  type CommandFilter,
  type FlushArgs,
  type FlushedQueues,
  type QueuedCommand,
} from './module-commands';

/** @internal What an error adds for a command that was written and never answered. */
export const SENT = ' This command was sent before the connection dropped and never answered: it may have run.';
/** @internal What an error adds for a command that was never written. */
export const NEVER_SENT = ' This command was never sent: nothing was written.';
/**
 * @internal ioredis's rejection of a pipeline's command still unanswered when its connection
 * closed after Redis answered an earlier one of the pipeline: it resends a pipeline only from its
 * start, so this command is not resent, though it was written and Redis may have run it.
 */
export const ABORTED = 'Command aborted due to connection close';

/** ioredis's queue of commands written and awaiting their reply (internal, read only here). */
interface CommandQueue {
  readonly length: number;
  peekAt(
    index: number,
  ): { command: QueuedCommand & { pipelineIndex?: number; reject(error: Error): void } } | undefined;
}

/**
 * @internal Turns the error ioredis gives up a command with, after `maxRetriesPerRequest` attempts
 * to reconnect, into the RedisUnreachableError a call given up by offlineTimeoutMs rejects with
 * (unready-wait-bound.ts): ioredis may give up first (its count of failed reconnects reaching a
 * multiple of maxRetriesPerRequest + 1), and a caller got its bare MaxRetriesPerRequestError, with
 * no code and no `mayHaveRun`, for the same outage. ioredis rejects in one flush the commands
 * still waiting to be sent (the offline queue) and those written before the connection dropped
 * whose reply never came (the command queue, which is the queue ioredis would resend on
 * reconnect): one error for both, so an enqueue Redis ran, its reply lost, read as one that wrote
 * nothing, and an app that sent it again ran its task twice. Each queue now gets its own error,
 * `mayHaveRun` saying which; ioredis's is its `cause`. Other flushes (the connection ended for
 * good) are ioredis's own. With `only` (a client handed in), those commands alone get the
 * module's error: the rest keep ioredis's. A pipeline's command aborted unanswered says it may
 * have run too (tellAbortedApart), of those commands alone with `only`. Returns its removal.
 */
export function tellUnansweredApart(redis: Redis, addressOf: () => string, only?: CommandFilter): () => void {
  const untellAborted = tellAbortedApart(redis, only);
  const queues = redis as unknown as FlushedQueues;
  // An ioredis without it (none of 5 or 6) keeps its own errors.
  if (typeof queues.flushQueue !== 'function') return untellAborted;
  let lastError: string | undefined;
  const heardError = (error: Error) => void (lastError = error.message);
  const ready = () => void (lastError = undefined);
  redis.on('error', heardError).on('ready', ready);
  const typed: MethodLayer<FlushedQueues, FlushArgs, void> = (self, flush, error, options) => {
    if (error?.name !== 'MaxRetriesPerRequestError') return flush(self, error, options);
    const { offlineQueue = true, commandQueue = true } = options ?? {};
    const givenUp = (mayHaveRun: boolean) => givenUpError(addressOf(), error, lastError, mayHaveRun);
    if (only) {
      // The module's commands taken out first, each with its error; ioredis flushes the rest.
      // One error a queue, as ioredis's flush gives.
      const [never, sent] = [givenUp(false), givenUp(true)];
      if (offlineQueue) takeOutSelected(self.offlineQueue, only, () => never);
      if (commandQueue) takeOutSelected(self.commandQueue, only, () => sent);
      return flush(self, error, options);
    }
    // ioredis's own flush, once per queue, each with its error: whatever else it does stays its own.
    if (offlineQueue) flush(self, givenUp(false), { offlineQueue: true, commandQueue: false });
    if (commandQueue) flush(self, givenUp(true), { offlineQueue: false, commandQueue: true });
  };
  // One wrapper on the client for every application booted on it (see addMethodLayer).
  const untype = addMethodLayer(queues, 'flushQueue', typed);
  return () => {
    untellAborted();
    untype();
    redis.off('error', heardError).off('ready', ready);
  };
}

/** @internal The RedisUnreachableError of a command ioredis gave up (`error`, its cause). */
export function givenUpError(address: string, error: Error, lastError: string | undefined, mayHaveRun: boolean) {
  const reason = `ioredis gave the command up: ${error.message}${lastError ? `; last error: ${lastError}` : ''}`;
  const message = `Redis at ${address} could not be reached: ${reason}.${mayHaveRun ? SENT : NEVER_SENT}`;
  return new RedisUnreachableError(address, reason, message, mayHaveRun, { cause: error });
}

/**
 * @internal Calls `giveUp`, each time ioredis gives up its offline queue's commands after
 * `maxRetriesPerRequest` attempts to reconnect (flushQueue, wrapped), with the error those get
 * (never sent): calls held before its queues (unready-wait-bound.ts) are given up with them, as
 * they were when they waited in that queue. For the module's own connection (never removed).
 */
export function givenUpByRetries(redis: Redis, giveUp: (error: Error) => void, addressOf: () => string): void {
  const queues = redis as unknown as FlushedQueues;
  // An ioredis without it (none of 5 or 6) keeps its own errors.
  if (typeof queues.flushQueue !== 'function') return;
  let lastError: string | undefined;
  redis.on('error', (error: Error) => void (lastError = error.message)).on('ready', () => void (lastError = undefined));
  addMethodLayer<FlushedQueues, FlushArgs, void>(queues, 'flushQueue', (self, flush, error, options) => {
    flush(self, error, options);
    if (error?.name === 'MaxRetriesPerRequestError' && (options?.offlineQueue ?? true))
      giveUp(givenUpError(addressOf(), error, lastError, false));
  });
}

/** @internal Whether `error` is a command ioredis gave up after maxRetriesPerRequest reconnect attempts. */
export function isGivenUpByRetries(error: Error): boolean {
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    (error.cause as Error | undefined)?.name === 'MaxRetriesPerRequestError'
  );
}

/**
 * The connection auto-pipelines, so a pipeline is any turn's calls (a keyed enqueue beside a
 * status read): one aborted unanswered (ABORTED) says it may have run, as execReplies says for
 * explicit pipelines. Done as the socket closes, ahead of ioredis's own close handler, which
 * aborts them: nothing is added to a command on its way out. With `only` (a client handed in),
 * the module's commands alone; the application's keep ioredis's error. Returns its removal.
 */
function tellAbortedApart(redis: Redis, only: CommandFilter = () => true): () => void {
  let active = true;
  const tell = () => {
    if (!active) return;
    const queue = (redis as unknown as { commandQueue?: CommandQueue }).commandQueue;
    for (let i = 0; queue && i < queue.length; i++) {
      const command = queue.peekAt(i)?.command;
      if (command?.pipelineIndex === undefined || !only(command)) continue; // only a pipeline's are aborted
      const reject = command.reject;
      command.reject = (error) => reject(error?.message === ABORTED ? withSuffix(error, SENT) : error);
    }
  };
  let listened: Redis['stream'] | undefined;
  const connected = () => (listened = redis.stream).prependOnceListener('close', tell);
  redis.on('connect', connected);
  // A client handed in is connected already: its socket of now too.
  if (redis.status === 'connect' || redis.status === 'ready') connected();
  return () => {
    active = false;
    redis.off('connect', connected);
    // A client handed in outlives the app: one listener per app booted on it was left on its socket.
    listened?.off('close', tell);
  };
}

/** @internal An error of the same class as `error`, its message extended. */
export function withSuffix(error: Error, suffix: string): Error {
  // Its own fields (ioredis sets some, e.g. an aborted command's `command`) are kept.
  const copy = Object.assign(Object.create(Object.getPrototypeOf(error) as object) as Error, error);
  copy.message = error.message + suffix;
  copy.stack = `${error.name}: ${copy.message}\n${(error.stack ?? '').split('\n').slice(1).join('\n')}`;
  return copy;
}

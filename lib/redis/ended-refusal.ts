import type { Redis } from 'ioredis';
import { RedisUnreachableError } from '../errors';
import { endedForGoodReason } from './connection-end';
import { addMethodLayer, type MethodLayer } from './method-layers';
import type { CommandFilter, QueuedCommand } from './module-commands';
import { NEVER_SENT, SENT } from './unanswered-given-up';

/** A command as ioredis sends it (internal, rejected only here). */
interface SentCommand extends QueuedCommand {
  reject(error: Error): void;
  promise: Promise<unknown>;
}
type SendArgs = [command: SentCommand, ...rest: unknown[]];
interface Sender {
  sendCommand(...args: SendArgs): unknown;
}

/** @internal Which of a client's ended calls get the module's error (a client handed in: see refuseOnceEnded). */
export interface EndedCalls {
  /** The module's own commands, on a client handed in (the application's keep ioredis's error). */
  only?: CommandFilter;
  /** Whether it ended as the module reads an end (a client handed in: on its own, not closed by hand). */
  ended?: () => boolean;
}

/**
 * @internal The RedisUnreachableError of a command on `redis`, which ended for good: written
 * before the end (`mayHaveRun`) or never sent; `cause`, ioredis's error when it gave it.
 */
export function endedError(address: string, redis: Redis, mayHaveRun: boolean, cause?: Error): RedisUnreachableError {
  const reason = endedForGoodReason(redis);
  const message = `Redis at ${address} could not be reached: ${reason}.${mayHaveRun ? SENT : NEVER_SENT}`;
  return new RedisUnreachableError(address, reason, message, mayHaveRun, cause ? { cause } : undefined);
}

/**
 * @internal Refuses, with a RedisUnreachableError (`mayHaveRun: false`), each command sent on
 * `redis` once it ended for good while the application is open (`isClosed` false): its
 * retryStrategy (a Cluster's clusterRetryStrategy) gave up, or it was closed under the
 * application. It never reconnects, and ioredis refused every later call with its bare
 * `Connection is closed.` (no code, no `mayHaveRun`), on one node and on a cluster alike, while
 * result() said RedisUnreachableError for the same end (ResultWaiter). Refused before ioredis
 * sees it, as ioredis refuses it: nothing is written. Once the application closed, ioredis's own
 * refusal stays, for refusedAtClose to read as ApplicationClosedError. On a client handed in,
 * `calls` narrows it to the module's commands once it ended on its own (one the user closed keeps
 * ioredis's error). Returns its removal.
 */
export function refuseOnceEnded(
  redis: Redis,
  addressOf: () => string,
  isClosed: () => boolean,
  { only = () => true, ended = () => redis.status === 'end' }: EndedCalls = {},
): () => void {
  const refuse: MethodLayer<Sender, SendArgs, unknown> = (self, send, command, ...rest) => {
    if (redis.status !== 'end' || isClosed() || !ended() || !only(command)) return send(self, command, ...rest);
    command.reject(endedError(addressOf(), redis, false));
    return command.promise;
  };
  return addMethodLayer(redis as unknown as Sender, 'sendCommand', refuse);
}

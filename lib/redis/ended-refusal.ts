import type { Redis } from 'ioredis';
import { RedisUnreachableError } from '../errors';
import { endedForGoodReason } from './connection-end';
import { addMethodLayer, type MethodLayer } from './method-layers';
import { NEVER_SENT } from './unanswered-given-up';

/** A command as ioredis sends it (internal, rejected only here). */
interface SentCommand {
  reject(error: Error): void;
  promise: Promise<unknown>;
}
type SendArgs = [command: SentCommand, ...rest: unknown[]];
interface Sender {
  sendCommand(...args: SendArgs): unknown;
}

/**
 * @internal Refuses, with a RedisUnreachableError (`mayHaveRun: false`), each command sent on
 * `redis` once it ended for good while the application is open (`isClosed` false): its
 * retryStrategy (a Cluster's clusterRetryStrategy) gave up, or it was closed under the
 * application. It never reconnects, and ioredis refused every later call with its bare
 * `Connection is closed.` (no code, no `mayHaveRun`), on one node and on a cluster alike, while
 * result() said RedisUnreachableError for the same end (ResultWaiter). Refused before ioredis
 * sees it, as ioredis refuses it: nothing is written. Once the application closed, ioredis's own
 * refusal stays, for refusedAtClose to read as ApplicationClosedError. For the module's own
 * command connection (never removed).
 */
export function refuseOnceEnded(redis: Redis, addressOf: () => string, isClosed: () => boolean): void {
  const refuse: MethodLayer<Sender, SendArgs, unknown> = (self, send, command, ...rest) => {
    if (redis.status !== 'end' || isClosed()) return send(self, command, ...rest);
    const address = addressOf();
    const reason = endedForGoodReason(redis);
    command.reject(
      new RedisUnreachableError(
        address,
        reason,
        `Redis at ${address} could not be reached: ${reason}.${NEVER_SENT}`,
        false,
      ),
    );
    return command.promise;
  };
  addMethodLayer(redis as unknown as Sender, 'sendCommand', refuse);
}

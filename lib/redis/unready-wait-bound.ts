import type { Redis } from 'ioredis';
import { RedisUnreachableError } from '../errors';
import type { CommandFilter, QueuedCommand } from './module-commands';
import { givenUpByRetries, NEVER_SENT, SENT } from './unanswered-given-up';
import { watchNodeWrites } from './cluster-node-writes';
import { typeClusterGiveUps } from './cluster-given-up';

/** ioredis's queues (internal, read only here and in unanswered-given-up.ts, close-unconnected.ts). */
interface Queue {
  readonly length: number;
  peekAt(index: number): { command: QueuedCommand & { reject(error: Error): void } } | undefined;
  removeOne(index: number): void;
}

/**
 * @internal Calls held before they reach ioredis's queues (a group commit's, behind a send in
 * flight), shaped as its queues are: each item's `command` is the same object for as long as it
 * is held, and is rejected once removed.
 */
export interface HeldCalls {
  readonly length: number;
  peekAt(index: number): { command: { reject(error: Error): void } } | undefined;
  removeOne(index: number): void;
}
interface Queues {
  offlineQueue?: Queue;
  /** Commands written before the last drop from 'ready', unanswered: resent once ready again. */
  prevCommandQueue?: Queue | null;
}

/**
 * @internal Rejects, with a RedisUnreachableError, each command that waited `boundMs` for
 * `redis` while it was not ready: one issued meanwhile (queued, never sent), or one written before
 * the drop and never answered (resent once ready: it may have run). ioredis gives a queued command
 * up only at a close, every `maxRetriesPerRequest + 1` reconnect attempts: a call made late in an
 * outage waited for the next give-up (21 attempts 2 s apart with its defaults, about 43 s), and a
 * reconnect that never got ready (a frozen Redis) closed nothing, so calls waited for ever. The
 * queues are checked every `tickMs` while the connection is not ready; a command's wait counts
 * from the check that first saw it, so a call rejects within `boundMs` plus at most two ticks.
 * An ioredis Cluster is bounded the same way while it is not ready (every node unreachable, or
 * its slots being fetched again): it holds what is issued meanwhile in an offline queue of its
 * own, which no maxRetriesPerRequest empties, until it is ready or ends (its clusterRetryStrategy
 * retries for ever by default). A command it already routed to a node is that node
 * connection's, not bounded here (see the README). Only the commands `given` selects are given up (a client handed in: the module's own). Returns
 * its removal (a client handed in outlives the application).
 * `held`: calls held before ioredis's queues (the module's own connection only), bounded as its
 * offline queue is (never sent), and given up with it when ioredis gives up after
 * maxRetriesPerRequest reconnects. Calls may be added to it later. Otherwise a call held behind
 * one waiting for the connection waited for that one's rejection first, and then the bound again
 * in ioredis's queue.
 */
export function boundUnreadyWaits(
  redis: Redis,
  boundMs: number,
  addressOf: () => string,
  given: CommandFilter = () => true,
  held?: HeldCalls[],
): () => void {
  const tickMs = Math.max(10, Math.min(250, Math.floor(boundMs / 20)));
  // A Cluster's offline queue may hold a command a node wrote, tried again (see watchNodeWrites).
  const nodeWrites = redis.isCluster ? watchNodeWrites(redis) : undefined;
  // Its give-ups after a node connection dropped, typed as the bound's (see typeClusterGiveUps).
  const untype = nodeWrites ? typeClusterGiveUps(redis, addressOf, given, nodeWrites.wasWritten) : undefined;
  let seenAt = new WeakMap<object, number>();
  let lastError: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  const heardError = (error: Error) => void (lastError = error.message);
  redis.on('error', heardError);
  const stop = () => {
    // A command seen in this outage and sent since counts afresh if a later drop leaves it unanswered.
    seenAt = new WeakMap();
    lastError = undefined;
    clearInterval(timer);
    timer = undefined;
  };
  const start = () => {
    if (timer) return;
    timer = setInterval(check, tickMs);
    timer.unref();
  };
  const check = () => {
    // Ended, ioredis rejects everything itself; ready, everything was sent or resent.
    if (redis.status === 'ready' || redis.status === 'end' || redis.status === 'wait') return stop();
    const queues = redis as unknown as Queues;
    const now = performance.now();
    giveUp(queues.offlineQueue, false, now);
    giveUp(queues.prevCommandQueue ?? undefined, true, now);
    for (const calls of held ?? []) giveUp(calls, false, now, true);
  };
  const giveUp = (queue: Queue | HeldCalls | undefined, mayHaveRun: boolean, now: number, isHeld = false) => {
    if (!queue) return;
    for (let i = queue.length - 1; i >= 0; i--) {
      const item = queue.peekAt(i);
      if (!item || (!isHeld && !given(item.command as unknown as QueuedCommand))) continue;
      const since = seenAt.get(item.command);
      if (since === undefined) seenAt.set(item.command, now);
      else if (now - since >= boundMs) {
        queue.removeOne(i);
        item.command.reject(unreachable(mayHaveRun || nodeWrites?.wasWritten(item.command) === true));
      }
    }
  };
  const unreachable = (mayHaveRun: boolean) => {
    const address = addressOf();
    const reason = `no ready connection for ${boundMs} ms (offlineTimeoutMs)${lastError ? `; last error: ${lastError}` : ''}`;
    const message = `Redis at ${address} could not be reached: ${reason}.${mayHaveRun ? SENT : NEVER_SENT}`;
    return new RedisUnreachableError(address, reason, message, mayHaveRun);
  };
  const statuses = ['close', 'reconnecting', 'connecting', 'connect'];
  for (const status of statuses) redis.on(status, start);
  redis.on('ready', stop).on('end', stop);
  if (redis.status !== 'ready' && redis.status !== 'wait') start();
  // Held calls were never sent: given up with ioredis's offline queue, with the same error.
  if (held) {
    givenUpByRetries(
      redis,
      (error) => {
        for (const calls of held) {
          for (let item = calls.peekAt(0); item; item = calls.peekAt(0)) {
            calls.removeOne(0);
            item.command.reject(error);
          }
        }
      },
      addressOf,
    );
  }
  return () => {
    stop();
    nodeWrites?.stop();
    untype?.();
    for (const status of statuses) redis.off(status, start);
    redis.off('ready', stop).off('end', stop).off('error', heardError);
  };
}

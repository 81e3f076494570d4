import type { Redis } from 'ioredis';
import { ApplicationClosedError } from '../errors';
import { disconnect } from './disconnect';

/** ioredis's queues of commands awaiting a connection or a reply (internal fields, read only here). */
interface CommandQueues {
  offlineQueue?: Queue;
  commandQueue?: Queue;
  prevCommandQueue?: Queue | null;
}
interface Queue {
  shift(): { command: { reject(error: Error): void } } | undefined;
}

const NEVER_SENT = 'The application closed: this command was never sent, nothing was written.';
/**
 * ioredis's refusals of a command on a connection closed at shutdown: the offline queue is off
 * (set below), or the connection ended by QUIT (a command written after QUIT is not run; one
 * unanswered when QUIT itself fails goes through closeUnconnected instead). Neither was run.
 */
const REFUSED_AT_CLOSE = new Set([
  "Stream isn't writeable and enableOfflineQueue options is false",
  'Connection is closed.',
]);

/**
 * @internal Closes, at shutdown, a connection that is not connected (Redis unreachable). ioredis's
 * disconnect() between two attempts to reconnect settles nothing it queued and queues every
 * later command, for a reconnect that never comes: each would wait for ever. So later commands
 * fail at once, and the queued ones are rejected saying whether Redis may have run them: a
 * command never sent did not; one sent before the connection dropped, unanswered, may have.
 */
export function closeUnconnected(redis: Redis): void {
  redis.options.enableOfflineQueue = false;
  // Its socket is often closed already (between two reconnects, or ended by suspend()).
  disconnect(redis);
  if (redis.isCluster) return; // a Cluster settles its own queues on disconnect
  const queues = redis as unknown as CommandQueues;
  rejectAll(queues.offlineQueue, NEVER_SENT);
  const unanswered =
    'The application closed while Redis was unreachable: this command was sent before the connection dropped and never answered; it may have run.';
  rejectAll(queues.commandQueue, unanswered);
  rejectAll(queues.prevCommandQueue ?? undefined, unanswered);
}

/**
 * @internal Closes a connection that is connected but does not answer (a frozen Redis): as
 * closeUnconnected, and its socket destroyed rather than ended, so replies that arrive once Redis
 * thaws are not read for commands already rejected (ioredis would throw on them).
 */
export function closeUnanswering(redis: Redis): void {
  closeUnconnected(redis);
  if (!redis.isCluster) redis.stream?.destroy();
}

function rejectAll(queue: Queue | undefined, message: string): void {
  for (let item = queue?.shift(); item; item = queue?.shift()) item.command.reject(new ApplicationClosedError(message));
}

/**
 * @internal The error of a command refused by a connection closed at shutdown (one group commit
 * or an auto-pipelined batch sent after it), as ApplicationClosedError; any other error as it is.
 */
export function refusedAtClose(error: Error): Error {
  return REFUSED_AT_CLOSE.has(error?.message) ? new ApplicationClosedError(NEVER_SENT) : error;
}

import { StreamQueueError } from '../errors';
import type { QueueKeys } from '../redis/keys';
import { ScriptCall } from '../redis/scripts';
import { CONSUMER_GROUP } from '../stream-queue.constants';

/** @internal queue-state.lua's snapshot of one queue (see its header); -1 reads as null. */
export interface QueueStateSnapshot {
  readonly length: number;
  readonly delayed: number;
  readonly deadLettered: number;
  readonly pending: number;
  readonly waiting: number;
  readonly waitingExact: boolean;
  readonly oldestWaitingMs: number | null;
  readonly nextDueInMs: number | null;
  readonly added: number;
  readonly read: number | null;
  /** Empty when not asked for, or when the group has more than were asked for. */
  readonly consumers: readonly { name: string; pending: number; idleMs: number }[];
  /** Tasks in the flow waiting room (not in the stream: `waiting` does not count them). */
  readonly waitingForSlot: number;
  /** The group's consumers, listed or not (0: no group yet). */
  readonly consumerCount: number;
}

/**
 * @internal The most stream entries one count of `waiting` reads (queue-state.lua's header says
 * which side it reads): a scrape stays bounded however long the backlog or the in-flight work.
 */
export const WAITING_COUNT_LIMIT = 1000;

/**
 * @internal The most consumer groups a queue's stream may have for a snapshot to read it (the
 * library makes one; the others are anyone's): past it the snapshot is refused with
 * a StreamQueueError TOO_MANY_GROUPS (queueStateRefusal), since finding the workers' group reads every group.
 */
export const GROUP_READ_LIMIT = 100;

/**
 * @internal The most consumers one partition's snapshot lists (inspect()): a group with more
 * lists none, so a dashboard poll stays bounded however many consumers anyone created.
 */
export const CONSUMER_LIST_LIMIT = 1000;

const orNull = (n: number): number | null => (n < 0 ? null : n);

/**
 * @internal The typed call of queue-state.lua: the queue's counts and its consumers when the group
 * has at most `consumers` (default 0: none, as counts() asks), one snapshot.
 */
export function queueStateScript(
  keys: QueueKeys,
  { consumers = 0, countLimit = WAITING_COUNT_LIMIT }: { consumers?: number; countLimit?: number } = {},
): ScriptCall<QueueStateSnapshot> {
  const args = [CONSUMER_GROUP, String(countLimit), String(consumers), String(GROUP_READ_LIMIT)];
  const redisKeys = [keys.stream, keys.delayed, keys.deadLetter, keys.flow.room, keys.flow.entered, keys.flow.tasks];
  return new ScriptCall('queue-state', redisKeys, args, (reply) => {
    const r = reply as [...number[], [string, number, number][]];
    const n = r as unknown as number[];
    return {
      length: n[0],
      delayed: n[1],
      deadLettered: n[2],
      pending: n[3],
      waiting: n[4],
      waitingExact: n[5] === 1,
      oldestWaitingMs: orNull(n[6]),
      nextDueInMs: orNull(n[7]),
      added: n[8],
      read: orNull(n[9]),
      consumers: (r[10] as unknown as [string, number, number][]).map(([name, pending, idleMs]) => ({
        name,
        pending,
        idleMs,
      })),
      waitingForSlot: n[11],
      consumerCount: n[12],
    };
  });
}

/**
 * @internal The error for queue-state.lua's 'GROUPS <count>' refusal (a stream of more than
 * GROUP_READ_LIMIT groups); the error itself otherwise.
 */
export function queueStateRefusal(keys: QueueKeys, error: Error): Error {
  const match = /^GROUPS (\d+)$/.exec(error.message);
  if (!match) return error;
  const where = keys.partition === 0 ? '' : ` (partition ${keys.partition})`;
  return new StreamQueueError(
    'TOO_MANY_GROUPS',
    `Queue "${keys.queue}"${where} has ${match[1]} consumer groups on its stream, more than ${GROUP_READ_LIMIT}: ` +
      `it is not read, since finding the workers' group "${CONSUMER_GROUP}" reads every group. The library ` +
      `makes only that one: remove the others (XGROUP DESTROY).`,
  );
}

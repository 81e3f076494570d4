import type { QueueKeys } from '../redis/keys';
import { ScriptCall } from '../redis/scripts';
import { CONSUMER_GROUP } from '../stream-queue.constants';
import { GROUP_READ_LIMIT } from './queue-state.script';

/** @internal The workers' group as read-position.lua reads it. */
export interface GroupPosition {
  /** The last entry the group delivered. */
  readonly lastDelivered: string;
  /** How many consumers the group has (anyone can add some). */
  readonly consumers: number;
  /** How many entries it delivered that are not acked yet. */
  readonly pending: number;
}

/**
 * @internal The typed call of read-position.lua: the workers' group's read position, size and pending count,
 * undefined without a stream or group; refused past GROUP_READ_LIMIT groups (queueStateRefusal
 * reads the refusal).
 */
export function readPositionScript(keys: QueueKeys, group = CONSUMER_GROUP): ScriptCall<GroupPosition | undefined> {
  return new ScriptCall('read-position', [keys.stream], [group, GROUP_READ_LIMIT], (reply) => {
    if (!reply) return undefined;
    const [lastDelivered, consumers, pending] = reply as [string, number, number];
    return { lastDelivered, consumers, pending };
  });
}

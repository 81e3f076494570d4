import type { QueueKeys } from '../redis/keys';
import { ScriptCall } from '../redis/scripts';
import { CONSUMER_GROUP } from '../stream-queue.constants';
import { GROUP_READ_LIMIT } from './queue-state.script';

/**
 * @internal The typed call of read-position.lua: the workers' group's last delivered entry id,
 * undefined without a stream or group; refused past GROUP_READ_LIMIT groups (queueStateRefusal
 * reads the refusal).
 */
export function readPositionScript(keys: QueueKeys): ScriptCall<string | undefined> {
  return new ScriptCall(
    'read-position',
    [keys.stream],
    [CONSUMER_GROUP, GROUP_READ_LIMIT],
    (reply) => (reply as string | null) ?? undefined,
  );
}

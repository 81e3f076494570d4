import type { QueueKeys } from '../redis/keys';
import { ScriptCall } from '../redis/scripts';

/** @internal The typed call of purge-dead-letters.lua: the given entries, or all (none given). Replies how many went. */
export function purgeDeadLettersScript(keys: QueueKeys, deadLetterIds: readonly string[]): ScriptCall<number> {
  return new ScriptCall('purge-dead-letters', [keys.deadLetter], deadLetterIds, Number);
}

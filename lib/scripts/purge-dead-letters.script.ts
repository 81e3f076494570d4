import { randomUUID } from 'node:crypto';
import type { QueueKeys } from '../redis/keys';
import { ScriptCall } from '../redis/scripts';

/**
 * @internal The typed call of purge-dead-letters.lua: the given entries, or all (none given), only
 * those before entry id `below` when it is given (not '': an XTRIM MINID threshold, see idAfter).
 * Replies how many went. The answer is kept for `recordMs` (none when 0) under an id drawn here,
 * once per call: ioredis resending the call after a lost reply gets the first execution's count.
 */
export function purgeDeadLettersScript(
  keys: QueueKeys,
  deadLetterIds: readonly string[],
  recordMs = 0,
  below = '',
): ScriptCall<number> {
  return new ScriptCall(
    'purge-dead-letters',
    [keys.deadLetter, keys.repairCall(randomUUID())],
    [recordMs, below, ...deadLetterIds],
    Number,
  );
}

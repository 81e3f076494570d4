import type { QueueKeys } from '../redis/keys';
import { replyCodes, ScriptCall } from '../redis/scripts';

/** @internal drop-consumer.lua's reply codes: removed, or kept (alive, or still holding messages). */
export const DROP_CONSUMER_CODES = { 1: 'removed', 0: 'kept' } as const;
export type DropConsumerReply = (typeof DROP_CONSUMER_CODES)[keyof typeof DROP_CONSUMER_CODES];

/** @internal The typed call of drop-consumer.lua for a consumer judged dead. */
export function dropConsumerScript(
  keys: QueueKeys,
  a: { readonly group: string; readonly consumer: string },
): ScriptCall<DropConsumerReply> {
  return new ScriptCall(
    'drop-consumer',
    [keys.stream, keys.alive(a.consumer)],
    [a.group, a.consumer],
    replyCodes('drop-consumer', DROP_CONSUMER_CODES),
  );
}

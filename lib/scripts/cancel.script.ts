import type { QueueKeys } from '../redis/keys';
import { replyCodes, ScriptCall } from '../redis/scripts';

/** @internal cancel.lua's reply codes. */
export const CANCEL_CODES = { 1: 'cancelled', 0: 'nothing-live' } as const;
export type CancelReply = (typeof CANCEL_CODES)[keyof typeof CANCEL_CODES];

/** @internal The typed call of cancel.lua on one key. */
export function cancelScript(
  keys: QueueKeys,
  a: { readonly key: string; readonly stateTtlMs: number },
): ScriptCall<CancelReply> {
  return new ScriptCall(
    'cancel',
    [keys.stream, keys.delayed, keys.keyState(a.key), keys.seq],
    [a.stateTtlMs, keys.controlChannel, a.key, keys.doneChannel],
    replyCodes('cancel', CANCEL_CODES),
  );
}

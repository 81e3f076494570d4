import type { QueueKeys } from '../redis/keys';
import { ScriptCall } from '../redis/scripts';

/** @internal end-stranded-cancel.lua's reply codes (code 3 comes with an owner: EndStrandedCancelReply). */
export const END_STRANDED_CANCEL_CODES = { 0: 'dropped', 1: 'kept', 2: 'ended' } as const;

/**
 * @internal What one call did with a key of the stranded cancels: dropped it (nothing to judge),
 * kept it (its owner's lease holds), ended its run, or asks for `owner`'s lease (nothing written).
 */
export type EndStrandedCancelReply =
  | (typeof END_STRANDED_CANCEL_CODES)[keyof typeof END_STRANDED_CANCEL_CODES]
  | { readonly outcome: 'judge-owner'; readonly owner: string };

/**
 * @internal The typed call of end-stranded-cancel.lua on one key of `keys`' stranded cancels;
 * `judgedOwner`: the owner a first call asked to judge, its liveness key declared last.
 */
export function endStrandedCancelScript(
  keys: QueueKeys,
  a: {
    readonly key: string;
    readonly group: string;
    readonly stateTtlMs: number;
    readonly judgedOwner?: string;
  },
): ScriptCall<EndStrandedCancelReply> {
  return new ScriptCall(
    'end-stranded-cancel',
    [
      keys.strandedCancels,
      keys.stream,
      keys.keyState(a.key),
      ...(a.judgedOwner === undefined ? [] : [keys.alive(a.judgedOwner)]),
    ],
    [a.key, a.group, a.stateTtlMs, keys.doneChannel, keys.controlChannel, a.judgedOwner ?? ''],
    (reply) => {
      if (Array.isArray(reply)) return { outcome: 'judge-owner', owner: String(reply[1]) };
      const outcome = END_STRANDED_CANCEL_CODES[Number(reply) as keyof typeof END_STRANDED_CANCEL_CODES];
      if (outcome === undefined) throw new Error(`end-stranded-cancel.lua replied an unknown code: ${String(reply)}`);
      return outcome;
    },
  );
}

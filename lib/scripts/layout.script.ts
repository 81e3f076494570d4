import type { QueueKeys } from '../redis/keys';
import { replyCodes, ScriptCall } from '../redis/scripts';
import { CONSUMER_GROUP } from '../stream-queue.constants';

/** @internal layout.lua's reply codes. */
export const LAYOUT_CODES = { 1: 'done', 2: 'already', 0: 'not-empty', [-1]: 'not-this-switch' } as const;
const outcomeOf = replyCodes('layout', LAYOUT_CODES);

/** @internal What one layout.lua step did, and the partition's layout record after it. */
export interface LayoutStepReply {
  readonly outcome: (typeof LAYOUT_CODES)[keyof typeof LAYOUT_CODES];
  readonly record: string;
}

/**
 * @internal The typed call of layout.lua: one step of a count switch `from` -> `to` on one
 * partition; a commit raises the partition's sequence to `sequenceFloor` (default 0).
 */
export function layoutScript(
  keys: QueueKeys,
  a: {
    readonly step: 'freeze' | 'commit' | 'thaw';
    readonly from: number;
    readonly to: number;
    readonly sequenceFloor?: number;
  },
): ScriptCall<LayoutStepReply> {
  return new ScriptCall(
    'layout',
    [keys.layout, keys.stream, keys.delayed, keys.deadLetter, keys.seq, keys.layoutFreezers],
    [
      a.step,
      a.from,
      a.to,
      CONSUMER_GROUP,
      keys.partition === 0 ? '1' : '0',
      keys.partition >= a.from ? '1' : '0',
      a.sequenceFloor ?? 0,
    ],
    (reply) => {
      const [code, record] = reply as [number, string];
      return { outcome: outcomeOf(code), record };
    },
  );
}

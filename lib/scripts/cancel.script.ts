import type { QueueKeys } from '../redis/keys';
import { replyCodes, ScriptCall } from '../redis/scripts';

/** @internal cancel.lua's reply codes. */
export const CANCEL_CODES = { 1: 'cancelled', 0: 'nothing-live' } as const;
export type CancelReply = (typeof CANCEL_CODES)[keyof typeof CANCEL_CODES];

/**
 * @internal The typed call of cancel.lua on one key. It also ends the key's runtime schedule, if
 * any; with `scheduleOnly` (unschedule), a key that is not a runtime schedule is left alone.
 * With `task` too, only a schedule of that task is ended (a schedule() moving the key's chain).
 * `partitions` is the caller's count for the queue: a partition whose layout record says
 * otherwise refuses the call (a 'LAYOUT ...' error; see PartitionLayoutError.fromReply).
 * `callId`, drawn once per call, names the record of its answer: a resend of the call (ioredis,
 * after a reply lost with its connection) answers as the first execution did and changes nothing.
 */
export function cancelScript(
  keys: QueueKeys,
  a: {
    readonly key: string;
    readonly stateTtlMs: number;
    readonly partitions: number;
    readonly scheduleOnly?: boolean;
    readonly task?: string;
    readonly callId?: string;
  },
): ScriptCall<CancelReply> {
  return new ScriptCall(
    'cancel',
    [
      keys.stream,
      keys.delayed,
      keys.keyState(a.key),
      keys.seq,
      keys.schedules,
      keys.layout,
      ...(a.callId === undefined ? [] : [keys.cancelCall(a.callId)]),
    ],
    [
      a.stateTtlMs,
      keys.controlChannel,
      a.key,
      keys.doneChannel,
      a.scheduleOnly ? '1' : '0',
      a.partitions,
      a.task ?? '',
    ],
    replyCodes('cancel', CANCEL_CODES),
  );
}

import type { QueueKeys } from '../redis/keys';
import { replyCodes, ScriptCall } from '../redis/scripts';
import { CONSUMER_GROUP } from '../stream-queue.constants';

/** @internal cancel.lua's reply codes. */
export const CANCEL_CODES = { 1: 'cancelled', 0: 'nothing-live', 2: 'judge-owner' } as const;
export type CancelReply = 'cancelled' | 'nothing-live';

/**
 * @internal cancel.lua wrote nothing and asks for `owner`'s lease: the key's running run has
 * nothing left in Redis but its owner (its stream was deleted, or its entry), and is ended by the
 * cancel only if the lease that owner claimed it under lapsed. The same call is sent again with
 * `judgedOwner` (see send-cancel.ts).
 */
export interface CancelOwnerToJudge {
  readonly outcome: 'judge-owner';
  readonly owner: string;
}

const outcomeOf = replyCodes('cancel', CANCEL_CODES);

/**
 * @internal The typed call of cancel.lua on one key. It also ends the key's runtime schedule, if
 * any; with `scheduleOnly` (unschedule), a key that is not a runtime schedule is left alone.
 * With `task` too, only a schedule of that task is ended (a schedule() moving the key's chain).
 * `partitions` is the caller's count for the queue: a partition whose layout record says
 * otherwise refuses the call (a 'LAYOUT ...' error; see PartitionLayoutError.fromReply).
 * `callId`, drawn once per call, names the record of its answer: a resend of the call (ioredis,
 * after a reply lost with its connection) answers as the first execution did and changes nothing.
 * `judgedOwner`: the owner a first call asked to judge (CancelOwnerToJudge); its liveness key is
 * declared last. A running run the cancel leaves to a settle puts the key in the partition's
 * stranded cancels, which the sweeps judge (end-stranded-cancel.lua).
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
    readonly judgedOwner?: string;
  },
): ScriptCall<CancelReply | CancelOwnerToJudge> {
  return new ScriptCall(
    'cancel',
    [
      keys.stream,
      keys.delayed,
      keys.keyState(a.key),
      keys.seq,
      keys.schedules,
      keys.layout,
      keys.strandedCancels,
      ...(a.callId === undefined ? [] : [keys.cancelCall(a.callId)]),
      ...(a.judgedOwner === undefined ? [] : [keys.alive(a.judgedOwner)]),
    ],
    [
      a.stateTtlMs,
      keys.controlChannel,
      a.key,
      keys.doneChannel,
      a.scheduleOnly ? '1' : '0',
      a.partitions,
      a.task ?? '',
      CONSUMER_GROUP,
      a.judgedOwner ?? '',
    ],
    (reply) => {
      // Code 2 comes with the owner to judge: {2, owner}.
      if (Array.isArray(reply)) return { outcome: 'judge-owner', owner: String(reply[1]) };
      const outcome = outcomeOf(reply);
      if (outcome === 'judge-owner') throw new Error('cancel.lua asked to judge an owner it did not name');
      return outcome;
    },
  );
}

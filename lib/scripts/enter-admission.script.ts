import type { QueueKeys } from '../redis/keys';
import { replyCodes, ScriptCall } from '../redis/scripts';
import { flowLimitsText, type FlowLimits } from './enqueue-flow.script';

/** @internal enter-admission.lua's reply codes. */
export const ENTER_ADMISSION_CODES = { 1: 'moved', 0: 'not-ours', [-1]: 'not-to-move', [-2]: 'stale-count' } as const;
const outcomeOf = replyCodes('enter-admission', ENTER_ADMISSION_CODES);

/**
 * @internal What enter-admission.lua did, and the new entry id when `moved` ('' when it waits);
 * when `stale-count`, the layout record it read instead.
 */
export interface EnterAdmissionReply {
  readonly outcome: (typeof ENTER_ADMISSION_CODES)[keyof typeof ENTER_ADMISSION_CODES];
  readonly entryId: string;
}

/** @internal The typed call of enter-admission.lua for one entry `consumer` read. */
export function enterAdmissionScript(
  keys: QueueKeys,
  a: {
    readonly group: string;
    readonly consumer: string;
    readonly entryId: string;
    readonly taskId: string;
    readonly limits: FlowLimits;
    /** The queue's partition count as this worker maps it (checked against the layout record); 1 when not given. */
    readonly partitions?: number;
  },
): ScriptCall<EnterAdmissionReply> {
  const limits = flowLimitsText(a.limits);
  return new ScriptCall(
    'enter-admission',
    [keys.stream, keys.result(a.taskId), ...keys.flowKeys, keys.layout],
    [a.group, a.consumer, a.entryId, a.taskId, limits, a.partitions ?? 1],
    (reply) => {
      const [code, entryId] = reply as [number, string];
      return { outcome: outcomeOf(code), entryId };
    },
  );
}

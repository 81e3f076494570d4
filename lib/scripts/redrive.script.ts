import { randomUUID } from 'node:crypto';
import type { QueueKeys } from '../redis/keys';
import { replyCodes, ScriptCall } from '../redis/scripts';

/** @internal redrive.lua's reply codes. */
export const REDRIVE_CODES = {
  1: 'redriven',
  0: 'no-such-dead-letter',
  [-1]: 'not-a-task',
  [-2]: 'key-moved-on',
  [-3]: 'group-limit-elsewhere',
  [-4]: 'cancelled',
  [-5]: 'already-redriven',
} as const;
const outcomeOf = replyCodes('redrive', REDRIVE_CODES);

/**
 * @internal What redrive.lua did: the redriven task's stream entry id ('' when a task under flow
 * control waits for a slot) and generation when `redriven`.
 */
export interface RedriveReply {
  readonly outcome: (typeof REDRIVE_CODES)[keyof typeof REDRIVE_CODES];
  readonly entryId: string;
  readonly generation: number;
}

/**
 * @internal The typed call of redrive.lua for one dead letter of task `taskId` (and its key).
 * `ungroupedElsewhere`: the partition is not the ungrouped group's under the caller's count
 * (partitionOfGroup), so an ungrouped flow task whose limits recorded there have a group limit
 * is refused (group-limit-elsewhere).
 * Its answer is kept for `recordMs` (none when 0) under an id drawn here, once per call: ioredis
 * resending the call after a lost reply gets the first execution's answer (call-record.lua).
 */
export function redriveScript(
  keys: QueueKeys,
  a: {
    readonly deadLetterId: string;
    readonly taskId: string;
    readonly key: string | undefined;
    readonly ungroupedElsewhere?: boolean;
  },
  recordMs = 0,
): ScriptCall<RedriveReply> {
  const redisKeys = [keys.deadLetter, keys.stream, keys.result(a.taskId), keys.seq, keys.repairCall(randomUUID())];
  if (a.key !== undefined) redisKeys.push(keys.keyState(a.key));
  redisKeys.push(...keys.flowKeys);
  return new ScriptCall(
    'redrive',
    redisKeys,
    [a.deadLetterId, a.taskId, a.key ?? '', recordMs, a.ungroupedElsewhere ? '1' : ''],
    (reply) => {
      const [code, entryId, generation] = reply as [number, string, number];
      return { outcome: outcomeOf(code), entryId, generation: Number(generation) };
    },
  );
}

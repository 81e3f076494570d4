import { randomUUID } from 'node:crypto';
import { newTaskId } from '../partitions/task-ids';
import type { QueueKeys } from '../redis/keys';
import { replyCodes, ScriptCall } from '../redis/scripts';

/**
 * @internal The timing part of a periodic successor (see includes/successor.lua): an `every`
 * period (e), or a cron's expression, zone and upcoming fire times (c, z, f; epoch ms as text);
 * or, from a worker that does not define this `@Task` chain here, its boot's Redis time (w): a
 * chain a deploy dropped then ends, as that worker's settle would end it.
 */
export type SuccessorTiming =
  { readonly e: number } | { readonly c: string; readonly z: string; readonly f: string[] } | { readonly w: number };

export interface DeadLetterArgs {
  readonly group: string;
  readonly consumer: string;
  readonly entryId: string;
  readonly reason: string;
  readonly deadLetterMaxLen: number;
  readonly stateTtlMs: number;
  readonly resultTtlMs: number;
  /** The encoded failure result. */
  readonly failure: string;
  /** The task id the entry's fields name, if any: its result key is declared. */
  readonly taskId?: string;
  /** The key the entry's fields name, if any: its key state is declared. */
  readonly key?: string;
  /**
   * A periodic run's successor timing, when the dead-lettering worker has its schedule; its boot
   * (w) for a `@Task` chain it does not define here.
   */
  readonly timing?: SuccessorTiming;
  /** How long the call's answer is kept for a resend of it (includes/call-record.lua); 0 none. */
  readonly recordMs?: number;
}

/** @internal What dead-letter.lua did. */
export type DeadLetterVerdict = 'dead-lettered' | 'refused' | 'not-pending';

/** @internal dead-letter.lua's reply codes. */
export const DEAD_LETTER_CODES = { 1: 'dead-lettered', [-1]: 'refused', [-2]: 'not-pending' } as const;
const verdictOf = replyCodes('dead-letter', DEAD_LETTER_CODES);

/**
 * @internal The typed call of dead-letter.lua for one delivered entry. Its answer is kept for
 * `a.recordMs` under an id drawn here, once per call: ioredis resending the call after a lost
 * reply gets 'dead-lettered', not 'not-pending' for the entry its first execution acked. A
 * periodic successor's task id is drawn here too, in the partition of `keys`, as a settle draws
 * one (settle-calls.ts); a resend writes nothing, so the id is used once.
 */
export function deadLetterScript(keys: QueueKeys, a: DeadLetterArgs): ScriptCall<DeadLetterVerdict> {
  const redisKeys = [keys.stream, keys.deadLetter, keys.delayed, keys.seq, keys.deadLetterCall(randomUUID())];
  if (a.taskId !== undefined) redisKeys.push(keys.result(a.taskId));
  // The stranded cancels: where a run ending its key while an older run still runs records it.
  if (a.key !== undefined) redisKeys.push(keys.keyState(a.key), keys.strandedCancels);
  const args = [
    a.group,
    a.consumer,
    a.entryId,
    a.reason,
    a.deadLetterMaxLen,
    keys.doneChannel,
    a.stateTtlMs,
    a.resultTtlMs,
    a.failure,
    a.taskId ?? '',
    a.key ?? '',
    a.timing ? JSON.stringify(a.timing) : '',
    a.recordMs ?? 0,
    newTaskId(keys.partition),
  ];
  // Always: whether the entry holds flow slots is read from the entry itself.
  return new ScriptCall('dead-letter', [...redisKeys, ...keys.flowKeys], args, verdictOf);
}

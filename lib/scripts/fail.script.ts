import type { QueueKeys } from '../redis/keys';
import { replyCodes, ScriptCall } from '../redis/scripts';

/** @internal The failed run's task, as its message carries it. */
export interface FailedTask {
  readonly id: string;
  readonly name: string;
  readonly payload: string;
  /** The attempt its retry will be (or this one, for a dead letter). */
  readonly attempt: number;
  readonly key?: string;
  readonly generation: number;
  readonly dueAt?: number;
  readonly keepResult: boolean;
  /** The producer's trace context (field t), carried into the retry or dead letter. */
  readonly trace?: string;
  /** Under flow control (fields fl, gr, pr): its slots are released, its retry re-admitted. */
  readonly flow?: { readonly group?: string; readonly priority?: number };
}

export interface FailArgs {
  readonly group: string;
  readonly consumer: string;
  readonly stateTtlMs: number;
  readonly entryId: string;
  /** Retry after this many ms; undefined dead-letters the run now. */
  readonly retryInMs: number | undefined;
  readonly resultTtlMs: number;
  /** The encoded failure result. */
  readonly failure: string;
  readonly deadLetterReason: string;
  readonly deadLetterMaxLen: number;
  /** A periodic run's successor as JSON, or '' (see includes/successor.lua). */
  readonly successor: string;
  readonly task: FailedTask;
}

/** @internal What fail.lua did with the run. */
export type FailVerdict = 'retry-scheduled' | 'dead-lettered' | 'superseded' | 'refused' | 'not-pending';

/** @internal fail.lua's reply codes. */
export const FAIL_CODES = {
  1: 'retry-scheduled',
  2: 'dead-lettered',
  0: 'superseded',
  [-1]: 'refused',
  [-2]: 'not-pending',
} as const;
const verdictOf = replyCodes('fail', FAIL_CODES);

/** @internal The typed call of fail.lua for one failed run. */
export function failScript(keys: QueueKeys, a: FailArgs): ScriptCall<FailVerdict> {
  const t = a.task;
  const redisKeys = [keys.stream, keys.delayed, keys.deadLetter, keys.result(t.id)];
  if (t.key !== undefined) redisKeys.push(keys.keyState(t.key), keys.seq);
  const fields = ['id', t.id, 'n', t.name, 'p', t.payload, 'a', String(t.attempt)];
  if (t.key !== undefined) fields.push('k', t.key, 'g', String(t.generation));
  if (t.dueAt !== undefined) fields.push('d', String(t.dueAt));
  if (t.keepResult) fields.push('r', '1');
  if (t.trace !== undefined) fields.push('t', t.trace);
  if (t.flow) {
    fields.push('fl', '1');
    if (t.flow.group !== undefined) fields.push('gr', t.flow.group);
    if (t.flow.priority !== undefined) fields.push('pr', String(t.flow.priority));
    redisKeys.push(...keys.flowKeys);
  }
  const args = [
    a.group,
    a.consumer,
    keys.doneChannel,
    a.stateTtlMs,
    a.entryId,
    a.retryInMs ?? -1,
    a.resultTtlMs,
    a.failure,
    a.deadLetterReason,
    a.deadLetterMaxLen,
    a.successor,
    ...fields,
  ];
  return new ScriptCall('fail', redisKeys, args, verdictOf);
}

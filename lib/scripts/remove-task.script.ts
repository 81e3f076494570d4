import { randomUUID } from 'node:crypto';
import type { QueueKeys } from '../redis/keys';
import { replyCodes, ScriptCall } from '../redis/scripts';
import { CONSUMER_GROUP } from '../stream-queue.constants';
import { GROUP_READ_LIMIT } from './queue-state.script';

/** @internal remove-task.lua's reply codes. */
export const REMOVE_TASK_CODES = { 1: 'removed', 0: 'not-there', [-1]: 'running' } as const;
export type RemoveTaskReply = (typeof REMOVE_TASK_CODES)[keyof typeof REMOVE_TASK_CODES];

/** @internal A queued, delayed or waiting (in the flow waiting room) task located by a listing, to remove. */
export interface TaskToRemove {
  readonly id: string;
  readonly state: 'queued' | 'delayed' | 'waiting';
  /** The stream entry id (queued). */
  readonly entryId?: string;
  /** The delayed set's member (delayed). */
  readonly member?: string;
  readonly key?: string;
}

/**
 * @internal The typed call of remove-task.lua; a queued task's removal is refused past
 * GROUP_READ_LIMIT groups (queueStateRefusal reads the refusal). Its answer is kept for
 * `stateTtlMs` under an id drawn here, once per call: ioredis resending the call after a lost
 * reply gets the first execution's answer (call-record.lua).
 */
export function removeTaskScript(keys: QueueKeys, task: TaskToRemove, stateTtlMs: number): ScriptCall<RemoveTaskReply> {
  const redisKeys = [keys.stream, keys.delayed, keys.result(task.id), keys.repairCall(randomUUID())];
  if (task.key !== undefined) redisKeys.push(keys.keyState(task.key), keys.seq, keys.schedules, keys.strandedCancels);
  redisKeys.push(...keys.flowKeys);
  return new ScriptCall(
    'remove-task',
    redisKeys,
    [
      CONSUMER_GROUP,
      task.id,
      task.state,
      (task.state === 'delayed' ? task.member : task.entryId) ?? '',
      task.key ?? '',
      keys.doneChannel,
      stateTtlMs,
      GROUP_READ_LIMIT,
    ],
    replyCodes('remove-task', REMOVE_TASK_CODES),
  );
}

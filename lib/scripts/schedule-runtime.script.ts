import { newTaskId } from '../partitions/task-ids';
import type { QueueKeys } from '../redis/keys';
import { replyCodes, ScriptCall } from '../redis/scripts';
import { CONSUMER_GROUP } from '../stream-queue.constants';

/** @internal A validated QueueClient.schedule(): what schedule-runtime.lua needs. */
export interface RuntimeScheduleCall {
  readonly name: string;
  readonly queue: string;
  readonly key: string;
  /** JSON text. */
  readonly payload: string;
  readonly schedule: { every: number } | { cron: string; timezone: string };
  /** A cron's next fire times after Redis's clock (empty for `every`). */
  readonly fires: readonly number[];
  /** The queue's partition count as this process maps it, checked against the partition's record. */
  readonly partitions: number;
}

/**
 * @internal What a runtime schedule is, as one string (field `sig` of its key state): the same
 * signature on a live schedule is left alone; schedules() reads its parts back.
 */
export interface RuntimeSignature {
  readonly name: string;
  readonly payload: string;
  readonly every?: number;
  readonly cron?: string;
  readonly timezone?: string;
}

/** @internal schedule-runtime.lua's reply codes. */
export const SCHEDULE_RUNTIME_CODES = { 0: 'left-alone', 1: 'created', 2: 'retimed', [-1]: 'held' } as const;
const outcomeOf = replyCodes('schedule-runtime', SCHEDULE_RUNTIME_CODES);

/**
 * @internal What schedule-runtime.lua did: the chain's waiting run (id, generation), or, when the
 * key is held by a live run that is not a schedule (`held`), that run and its task name.
 */
export interface ScheduleRuntimeReply {
  readonly outcome: (typeof SCHEDULE_RUNTIME_CODES)[keyof typeof SCHEDULE_RUNTIME_CODES];
  readonly id: string;
  readonly generation: number;
  readonly name: string;
}

/** @internal The typed call of schedule-runtime.lua. */
export function scheduleRuntimeScript(
  keys: QueueKeys,
  call: RuntimeScheduleCall,
  id: string = newTaskId(keys.partition),
): ScriptCall<ScheduleRuntimeReply> {
  const s = call.schedule;
  const cron = 'cron' in s ? s : undefined;
  const signature: RuntimeSignature = { name: call.name, payload: call.payload, ...s };
  return new ScriptCall(
    'schedule-runtime',
    [keys.stream, keys.delayed, keys.keyState(call.key), keys.seq, keys.schedules, keys.layout],
    [
      id,
      call.name,
      call.payload,
      call.key,
      call.queue,
      cron ? 'cron' : 'every',
      'every' in s ? s.every : 0,
      cron?.cron ?? '',
      cron?.timezone ?? '',
      JSON.stringify(signature),
      call.fires.join(','),
      keys.controlChannel,
      keys.doneChannel,
      call.partitions,
      CONSUMER_GROUP,
    ],
    (reply) => {
      const [runId, generation, code, name] = reply as [string, number, number, string];
      return { outcome: outcomeOf(code), id: runId, generation: Number(generation), name };
    },
  );
}

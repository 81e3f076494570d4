import { randomUUID } from 'node:crypto';
import type { QueueKeys } from '../redis/keys';
import { replyCodes, ScriptCall } from '../redis/scripts';
import { scheduleSignature, type PeriodicCall } from '../task/periodic-call';
import { CONSUMER_GROUP } from '../stream-queue.constants';
import { CRON_DEFAULT_TIMEZONE, periodicKey } from '../task/schedule';

/** @internal What schedule-periodic.lua did, and the run of the key it leaves live. */
export interface SchedulePeriodicReply {
  readonly id: string;
  readonly generation: number;
  readonly outcome: 'left-alone' | 'created' | 'retimed' | 'replaced';
}

/** @internal schedule-periodic.lua's reply codes. */
export const SCHEDULE_PERIODIC_CODES = { 0: 'left-alone', 1: 'created', 2: 'retimed', 3: 'replaced' } as const;
const outcomeOf = replyCodes('schedule-periodic', SCHEDULE_PERIODIC_CODES);

/** @internal The typed call of schedule-periodic.lua. */
export function schedulePeriodicScript(
  keys: QueueKeys,
  call: PeriodicCall,
  id: string = randomUUID(),
): ScriptCall<SchedulePeriodicReply> {
  const key = periodicKey(call.name);
  const s = call.schedule;
  const cron = s && 'cron' in s ? s : undefined;
  // A restore is a boot that writes only when the chain is gone: the same arguments, and its boot time.
  const boot = call.mode !== 'replace';
  return new ScriptCall(
    'schedule-periodic',
    [keys.stream, keys.delayed, keys.keyState(key), keys.seq],
    [
      call.mode,
      id,
      call.name,
      boot ? 'null' : call.payload,
      key,
      call.queue,
      s === undefined ? '' : cron ? 'cron' : 'every',
      s && 'every' in s ? s.every : 0,
      cron?.cron ?? '',
      cron ? (cron.timezone ?? CRON_DEFAULT_TIMEZONE) : '',
      boot ? scheduleSignature(call.queue, call.schedule) : '',
      boot ? call.fires.join(',') : '',
      boot ? 0 : call.runAt,
      boot ? 0 : call.delayMs,
      keys.controlChannel,
      call.mode === 'restore' ? call.bootedAt : 0,
      CONSUMER_GROUP,
      keys.doneChannel,
    ],
    (reply) => {
      const [runId, generation, code] = reply as [string, number, number];
      return { id: runId, generation: Number(generation), outcome: outcomeOf(code) };
    },
  );
}

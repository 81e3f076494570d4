import { randomUUID } from 'node:crypto';
import { entryIdRange } from '../redis/entry-id';
import { cronFires, CRON_DEFAULT_TIMEZONE, periodicKey } from '../task/schedule';
import type { TaskMessage } from '../task/task-message';
import type { TaskDefinition } from '../task.registry';
import { backoffDelay } from '../task/backoff';
import { encodeFailure } from '../task/task-outcome';
import type { Outcome } from './outcome';
import type { QueueContext } from './queue-context';

export type Failed = Extract<Outcome, { kind: 'failed' }>;
export type Completed = Extract<Outcome, { kind: 'completed' }>;
export type ScriptArgs = [keys: string[], args: (string | number)[]];

/**
 * @internal KEYS and ARGV of complete.lua for a batch. A run whose arguments cannot be built
 * (its successor does not compute, say) is left out and returned with the error, so one bad
 * outcome never fails the batch.
 */
export function completeCall(
  ctx: QueueContext,
  batch: Completed[],
): { call?: ScriptArgs; sent: Completed[]; rejected: [Completed, Error][] } {
  const { keys, group, consumer, config } = ctx;
  const redisKeys = [keys.stream, keys.delayed, keys.seq];
  const defaultTtl = config.resultTtlMs;
  const runs: unknown[] = [];
  const sent: Completed[] = [];
  const rejected: [Completed, Error][] = [];
  for (const outcome of batch) {
    const { delivery, definition, result, resultTtlMs } = outcome;
    const m = delivery.message;
    try {
      if (m.key === undefined && resultTtlMs === defaultTtl && !m.keepResult) runs.push([m.entryId, m.id, result]);
      else {
        const next = successor(ctx.queue, m, definition);
        const options = {
          g: m.generation,
          k: m.key === undefined ? 0 : 1,
          t: resultTtlMs,
          // A keyed run keeps even a void result: its key state soon names a later run, and
          // result() must not read that as superseded.
          r: m.keepResult || m.key !== undefined ? 1 : undefined,
          s: next || undefined,
        };
        runs.push([m.entryId, m.id, result, options]);
        if (m.key !== undefined) redisKeys.push(keys.keyState(m.key));
      }
      sent.push(outcome);
    } catch (error) {
      rejected.push([outcome, error as Error]);
    }
  }
  if (sent.length === 0) return { sent, rejected };
  const [low, high] = entryIdRange(sent.map((o) => o.delivery.message.entryId));
  const args = [group, consumer, keys.doneChannel, config.resultTtlMs, low, high, keys.resultPrefix, defaultTtl];
  return { call: [redisKeys, [...args, JSON.stringify(runs)]], sent, rejected };
}

/**
 * @internal KEYS and ARGV of fail.lua for one failed run: a retry with backoff, or a dead letter
 * after the last attempt (or at once for a `deadReason`), which still schedules a periodic
 * successor unless `withSuccessor` is false.
 */
export function failCall(ctx: QueueContext, outcome: Failed, withSuccessor = true): ScriptArgs {
  const { delivery, error, definition, deadReason } = outcome;
  const { keys, group, consumer, config } = ctx;
  const m = delivery.message;
  const options = definition?.options;
  const retry = deadReason === undefined && options !== undefined && m.attempt < options.maxAttempts;
  const reason = deadReason ?? `failed ${m.attempt} time(s); last error: ${error.name}: ${error.message}`;
  const redisKeys = [keys.stream, keys.delayed, keys.deadLetter, keys.result(m.id)];
  if (m.key !== undefined) redisKeys.push(keys.keyState(m.key), keys.seq);
  const fields = ['id', m.id, 'n', m.name, 'p', m.payload, 'a', String(retry ? m.attempt + 1 : m.attempt)];
  if (m.key !== undefined) fields.push('k', m.key, 'g', String(m.generation));
  if (m.dueAt !== undefined) fields.push('d', String(m.dueAt));
  if (m.keepResult) fields.push('r', '1');
  if (m.trace !== undefined) fields.push('t', m.trace);
  return [
    redisKeys,
    [
      group,
      consumer,
      keys.doneChannel,
      config.resultTtlMs,
      m.entryId,
      retry ? backoffDelay(options.backoff, m.attempt) : -1,
      options?.resultTtlMs ?? config.resultTtlMs,
      encodeFailure(error),
      reason,
      config.deadLetterMaxLen,
      retry || !withSuccessor ? '' : successor(ctx.queue, m, definition),
      ...fields,
    ],
  ];
}

/**
 * A periodic run's successor for the settle script (which schedules it only after the tail
 * check passed; see includes/successor.lua), or ''. None when the task is not periodic here or
 * is defined on another queue: a chain moved elsewhere ends on the queue it left. An `every`
 * successor is timed in Redis from the key's period. A cron's upcoming fire times are computed
 * after the run's slot, or after the time Redis put the run in the stream (its entry id) when
 * that is later (the fleet was down), never from this process's clock; Redis's clock picks one.
 */
function successor(queue: string, m: TaskMessage, definition: TaskDefinition | undefined): string {
  const schedule = definition?.options.schedule;
  if (!schedule || m.key !== periodicKey(m.name) || definition.options.queue !== queue) return '';
  const next = { id: randomUUID(), n: m.name, p: m.payload, k: m.key };
  if ('every' in schedule) return JSON.stringify({ ...next, e: schedule.every });
  const after = Math.max(m.dueAt ?? 0, Number(m.entryId.split('-')[0]));
  const timezone = schedule.timezone ?? CRON_DEFAULT_TIMEZONE;
  const fires = cronFires(schedule.cron, timezone, after).map(String);
  return JSON.stringify({ ...next, c: schedule.cron, z: timezone, f: fires });
}

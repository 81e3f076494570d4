import { newTaskId } from '../partitions/task-ids';
import { completeScript, type CompleteVerdict } from '../scripts/complete.script';
import { failScript, type FailVerdict } from '../scripts/fail.script';
import type { ScriptCall } from '../redis/scripts';
import type { TaskMessage } from '../task/task-message';
import type { TaskDefinition } from '../task/task.registry';
import { backoffDelay } from '../task/backoff';
import { encodeFailure, storedFailure } from '../task/task-outcome';
import type { Outcome } from './outcome';
import type { QueueContext } from './queue-context';
import { NO_STORED_SCHEDULES, type StoredSchedules } from './stored-schedules';
import { isTaskChainRun, scheduleOf, timingIfComputable } from './successor-timing';

export type Failed = Extract<Outcome, { kind: 'failed' }>;
export type Completed = Extract<Outcome, { kind: 'completed' }>;

/**
 * @internal The complete.lua call for a batch. A run whose arguments cannot be built (its
 * successor does not compute, say) is left out and returned with the error, so one bad outcome
 * never fails the batch.
 */
export function completeCall(
  ctx: QueueContext,
  batch: Completed[],
  stored: StoredSchedules = NO_STORED_SCHEDULES,
): { call?: ScriptCall<CompleteVerdict[]>; sent: Completed[]; rejected: [Completed, Error][] } {
  const { keys, group, consumer, config } = ctx;
  const runs = [];
  const sent: Completed[] = [];
  const rejected: [Completed, Error][] = [];
  for (const outcome of batch) {
    const { delivery, definition, result, resultTtlMs } = outcome;
    const m = delivery.message;
    try {
      const plain = m.key === undefined && resultTtlMs === config.resultTtlMs && !m.keepResult && !m.flow;
      runs.push({
        entryId: m.entryId,
        taskId: m.id,
        result,
        key: m.key,
        generation: m.generation,
        resultTtlMs,
        // A keyed run keeps even a void result (the wrapper sees to it): its key state soon
        // names a later run, and result() must not read that as superseded.
        keepResult: m.keepResult,
        successor: plain ? '' : successor(ctx, m, definition, stored),
        flow: m.flow !== undefined,
      });
      sent.push(outcome);
    } catch (error) {
      rejected.push([outcome, error as Error]);
    }
  }
  if (sent.length === 0) return { sent, rejected };
  const call = completeScript(keys, {
    group,
    consumer,
    stateTtlMs: config.resultTtlMs,
    defaultResultTtlMs: config.resultTtlMs,
    runs,
  });
  return { call, sent, rejected };
}

/**
 * @internal The fail.lua call for one failed run: a retry with backoff, or a dead letter after
 * the last attempt (or at once for a `deadReason`), which still schedules a periodic successor
 * unless `withSuccessor` is false.
 */
export function failCall(
  ctx: QueueContext,
  outcome: Failed,
  withSuccessor = true,
  stored: StoredSchedules = NO_STORED_SCHEDULES,
): ScriptCall<FailVerdict> {
  const { delivery, definition, deadReason } = outcome;
  // The reason names the error as its result key keeps it (encodeFailure cuts the same way).
  const failure = storedFailure(outcome.error);
  const { keys, group, consumer, config } = ctx;
  const m = delivery.message;
  const options = definition?.options;
  const retry = options !== undefined && intendedFailVerdict(outcome) === 'retry-scheduled';
  const reason = deadReason ?? `failed ${m.attempt} time(s); last error: ${failure.name}: ${failure.message}`;
  return failScript(keys, {
    group,
    consumer,
    stateTtlMs: config.resultTtlMs,
    entryId: m.entryId,
    retryInMs: retry ? backoffDelay(options.backoff, m.attempt) : undefined,
    resultTtlMs: options?.resultTtlMs ?? config.resultTtlMs,
    failure: encodeFailure(outcome.error),
    deadLetterReason: reason,
    deadLetterMaxLen: config.deadLetterMaxLen,
    successor: retry || !withSuccessor ? '' : successor(ctx, m, definition, stored),
    task: {
      id: m.id,
      name: m.name,
      payload: m.payload,
      attempt: retry ? m.attempt + 1 : m.attempt,
      key: m.key,
      generation: m.generation,
      dueAt: m.dueAt,
      keepResult: m.keepResult,
      trace: m.trace,
      flow: m.flow,
    },
  });
}

/**
 * @internal What the fail call of `outcome` does unless its run was superseded or taken over:
 * a retry while attempts are left, else a dead letter (at once for a `deadReason`).
 */
export function intendedFailVerdict({ delivery, definition, deadReason }: Failed): 'retry-scheduled' | 'dead-lettered' {
  const options = definition?.options;
  const retry = deadReason === undefined && options !== undefined && delivery.message.attempt < options.maxAttempts;
  return retry ? 'retry-scheduled' : 'dead-lettered';
}

/**
 * A periodic run's successor for the settle script (which schedules it only after the tail
 * check passed; see includes/successor.lua), or '' when it follows no schedule here (see
 * successor-timing.ts).
 */
function successor(
  ctx: QueueContext,
  m: TaskMessage,
  definition: TaskDefinition | undefined,
  stored: StoredSchedules,
): string {
  const schedule = scheduleOf(ctx.queue, m, definition, stored);
  if (!schedule) {
    // A `@Task` chain this worker does not define here: it goes on, timed by the key state, only
    // if a boot defined it after this worker booted (a rolling deploy that made it periodic).
    if (ctx.redisClock === undefined || !isTaskChainRun(m)) return '';
    return JSON.stringify({
      id: newTaskId(ctx.keys.partition),
      n: m.name,
      p: m.payload,
      k: m.key,
      w: ctx.redisClock.startedAt,
    });
  }
  const timing = timingIfComputable(schedule, m, (message) => ctx.logger.warn(message), ctx.redisClock);
  return JSON.stringify({ id: newTaskId(ctx.keys.partition), n: m.name, p: m.payload, k: m.key, ...timing });
}

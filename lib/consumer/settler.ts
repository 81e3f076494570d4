import { randomUUID } from 'node:crypto';
import { entryIdRange } from '../redis/entry-id';
import { runScript, runScriptNow } from '../redis/scripts';
import { nextCronTime, periodicKey } from '../task/schedule';
import type { TaskMessage } from '../task/task-message';
import type { TaskDefinition } from '../task.registry';
import { backoffDelay } from '../task/backoff';
import { encodeFailure } from '../task/task-outcome';
import type { Outcome } from './outcome';
import type { QueueContext } from './queue-context';

type Failed = Extract<Outcome, { kind: 'failed' }>;
type Completed = Extract<Outcome, { kind: 'completed' }>;
type ScriptCall = ['complete' | 'fail', [keys: string[], args: (string | number)[]]];
type Reply = [Error | null, unknown];

const COMPLETED = 1;
const SUPERSEDED = 0;
const REFUSED = -1;
const SETTLED = -2;
const RETRY = 1;
const DEAD = 2;

/**
 * @internal Settles outcomes in Redis: all completions of a batch in one `complete` script
 * call, each failure in its own `fail` call, in one pipeline (one round trip). Every script
 * re-checks ownership and generation, so this class only reports what Redis decided.
 */
export class Settler {
  /** Outcomes whose settle call failed once: the call may have run with its reply lost. A repeat
   * answered "no longer pending" is then this worker's own earlier settle. */
  private readonly retried = new WeakSet<Outcome>();

  constructor(private readonly ctx: QueueContext) {}

  /** Returns the outcomes that could not be settled (connection trouble), to be retried. */
  async settle(outcomes: Outcome[]): Promise<Outcome[]> {
    const completed = outcomes.filter((o): o is Completed => o.kind === 'completed');
    const failed = outcomes.filter((o): o is Failed => o.kind === 'failed');
    if (completed.length === 0 && failed.length === 0) return [];
    const calls: ScriptCall[] = [];
    if (completed.length > 0) calls.push(['complete', this.completeCall(completed)]);
    for (const outcome of failed) calls.push(['fail', this.failCall(outcome)]);
    const replies = await this.send(calls);
    const unsettled: Outcome[] = [];
    let i = 0;
    if (completed.length > 0) {
      const [error, codes] = replies[i++] ?? [new Error('no reply')];
      if (error) unsettled.push(...completed);
      else completed.forEach((o, j) => this.reportCompleted(o, (codes as number[])[j]));
    }
    for (const outcome of failed) {
      const [error, code] = replies[i++] ?? [new Error('no reply')];
      if (error) unsettled.push(outcome);
      else this.reportFailed(outcome, code as number);
    }
    // Retries and periodic successors went to the delayed set: promote them when due.
    if (failed.length > 0 || completed.some((o) => o.definition.options.schedule)) this.ctx.delayedAdded();
    unsettled.forEach((o) => this.retried.add(o));
    if (unsettled.length > 0) {
      const cause = replies.find(([e]) => e)?.[0];
      this.ctx.logger.warn(
        `Could not settle ${unsettled.length} run(s) on queue "${this.ctx.queue}" (${cause?.message}); retrying.`,
      );
    }
    return unsettled;
  }

  /** One call goes alone (most batches at low load); more go as one pipeline: one round trip. */
  private async send(calls: ScriptCall[]): Promise<Reply[]> {
    const { redis } = this.ctx;
    if (calls.length === 1) {
      const [[name, [keys, args]]] = calls;
      return runScriptNow(redis, name, keys, args).then(
        (reply): Reply[] => [[null, reply]],
        (error: Error): Reply[] => [[error, undefined]],
      );
    }
    const pipeline = redis.pipeline();
    for (const [name, [keys, args]] of calls) runScript(pipeline, name, keys, args);
    return ((await pipeline.exec()) ?? []) as Reply[];
  }

  private completeCall(batch: Completed[]): [string[], (string | number)[]] {
    const { keys, group, consumer, config } = this.ctx;
    const redisKeys = [keys.stream, keys.delayed, keys.seq];
    const [low, high] = entryIdRange(batch.map((o) => o.delivery.message.entryId));
    const defaultTtl = config.resultTtlMs;
    const args: (string | number)[] = [
      group,
      consumer,
      keys.doneChannel,
      config.resultTtlMs,
      low,
      high,
      keys.resultPrefix,
      defaultTtl,
    ];
    const runs = batch.map(({ delivery, definition, result, resultTtlMs }) => {
      const m = delivery.message;
      if (m.key === undefined && resultTtlMs === defaultTtl && !m.keepResult) return [m.entryId, m.id, result];
      if (m.key !== undefined) redisKeys.push(keys.keyState(m.key));
      const next = successor(m, definition);
      return [
        m.entryId,
        m.id,
        result,
        {
          g: m.generation,
          k: m.key === undefined ? 0 : 1,
          t: resultTtlMs,
          r: m.keepResult ? 1 : undefined,
          s: next || undefined,
        },
      ];
    });
    args.push(JSON.stringify(runs));
    return [redisKeys, args];
  }

  private failCall({ delivery, error, definition, deadReason }: Failed): [string[], (string | number)[]] {
    const { keys, group, consumer, config } = this.ctx;
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
        retry ? '' : successor(m, definition),
        ...fields,
      ],
    ];
  }

  private reportCompleted(outcome: Completed, code: number): void {
    const m = outcome.delivery.message;
    const base = { queue: this.ctx.queue, taskId: m.id, name: m.name, key: m.key };
    if (code === COMPLETED || (code === SETTLED && this.retried.has(outcome)))
      this.ctx.events.emit({ type: 'completed', ...base });
    else if (code === SUPERSEDED) this.ctx.events.emit({ type: 'superseded', ...base, detail: 'tail' });
    else this.refused(m.id, m.name, code, base);
  }

  private reportFailed(outcome: Failed, code: number): void {
    const { delivery, error } = outcome;
    const m = delivery.message;
    if (code === SETTLED && this.retried.has(outcome)) return; // our earlier call did it
    const base = { queue: this.ctx.queue, taskId: m.id, name: m.name, key: m.key };
    if (code === RETRY || code === DEAD) {
      this.ctx.events.emit({ type: 'failed', ...base, detail: error.message });
      this.ctx.events.emit({
        type: code === RETRY ? 'retry-scheduled' : 'dead-lettered',
        ...base,
        detail: error.message,
      });
      if (code === DEAD)
        this.ctx.logger.warn(`Task "${m.name}" (${m.id}) dead-lettered: ${error.name}: ${error.message}`);
    } else if (code === SUPERSEDED) this.ctx.events.emit({ type: 'superseded', ...base, detail: 'tail' });
    else this.refused(m.id, m.name, code, base);
  }

  /**
   * -1: another worker owns the run now (it was reclaimed). -2: it is no longer pending at all:
   * another worker reclaimed and settled it, or this worker's own settle was resent after a
   * reconnect. Either way nothing was written.
   */
  private refused(
    id: string,
    name: string,
    code: number,
    base: { queue: string; taskId: string; name: string; key?: string },
  ): void {
    const why =
      code === REFUSED
        ? 'another worker took the run over'
        : 'the run is no longer pending (settled elsewhere, or a resent call)';
    this.ctx.logger.warn(`Settling task "${name}" (${id}) was refused: ${why}; nothing was written.`);
    this.ctx.events.emit({
      type: 'completion-refused',
      ...base,
      detail: code === REFUSED ? 'owned-by-another' : 'not-pending',
    });
  }
}

/**
 * A periodic run's successor for the settle script (which schedules it only after the tail
 * check passed), or ''. Cron slots are computed here from the run's own slot, never earlier;
 * `every` slots are computed in Redis from the key's period.
 */
function successor(m: TaskMessage, definition: TaskDefinition | undefined): string {
  const schedule = definition?.options.schedule;
  if (!schedule || m.key !== periodicKey(m.name)) return '';
  const after = Math.max(m.dueAt ?? 0, Date.now());
  const at = 'every' in schedule ? after + schedule.every : nextCronTime(schedule.cron, schedule.timezone, after);
  return JSON.stringify({ id: randomUUID(), n: m.name, p: m.payload, k: m.key, at });
}

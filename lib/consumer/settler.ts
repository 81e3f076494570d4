import { runScript, runScriptNow } from '../redis/scripts';
import type { Outcome } from './outcome';
import type { QueueContext } from './queue-context';
import { completeCall, failCall, type Completed, type Failed, type ScriptArgs } from './settle-calls';

type ScriptCall = ['complete' | 'fail', ScriptArgs];
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
 * re-checks ownership and generation, so this class only reports what Redis decided. Each
 * outcome is isolated: one whose arguments cannot be built is dead-lettered with the reason,
 * and the others settle.
 */
export class Settler {
  /** Outcomes whose settle call failed once: the call may have run with its reply lost. A repeat
   * answered "no longer pending" is then this worker's own earlier settle. */
  private readonly retried = new WeakSet<Outcome>();

  constructor(private readonly ctx: QueueContext) {}

  /** Returns the outcomes that could not be settled (connection trouble), to be retried. Never throws. */
  async settle(outcomes: Outcome[]): Promise<Outcome[]> {
    try {
      return await this.settleAll(outcomes);
    } catch (error) {
      const pending = outcomes.filter((o) => o.kind !== 'abandoned');
      this.ctx.logger.error(
        `Settling ${pending.length} run(s) on queue "${this.ctx.queue}" failed: ${(error as Error).message}; retrying.`,
      );
      return pending;
    }
  }

  private async settleAll(outcomes: Outcome[]): Promise<Outcome[]> {
    const completed = outcomes.filter((o): o is Completed => o.kind === 'completed');
    const failed = outcomes.filter((o): o is Failed => o.kind === 'failed');
    if (completed.length === 0 && failed.length === 0) return [];
    const calls: ScriptCall[] = [];
    const { call, sent, rejected } = completeCall(this.ctx, completed);
    if (call) calls.push(['complete', call]);
    // A failed run goes as itself; one that cannot be settled so (or a completion left out
    // above) goes as a dead letter with the reason, without a successor: `as` maps it back to
    // the outcome the pipeline handed in.
    const fails: { outcome: Failed; as: Outcome }[] = [];
    const unsettleable = (outcome: Completed | Failed, error: Error) => {
      const dead = this.deadLetterOf(outcome, error);
      calls.push(['fail', failCall(this.ctx, dead, false)]);
      fails.push({ outcome: dead, as: outcome });
    };
    for (const [outcome, error] of rejected) unsettleable(outcome, error);
    for (const outcome of failed) {
      let args: ScriptArgs;
      try {
        args = failCall(this.ctx, outcome);
      } catch (error) {
        unsettleable(outcome, error as Error);
        continue;
      }
      calls.push(['fail', args]);
      fails.push({ outcome, as: outcome });
    }
    const replies = await this.send(calls);
    const unsettled: Outcome[] = [];
    let i = 0;
    if (call) {
      const [error, codes] = replies[i++] ?? [new Error('no reply')];
      if (error) unsettled.push(...sent);
      else sent.forEach((o, j) => this.reportCompleted(o, (codes as number[])[j]));
    }
    for (const { outcome, as } of fails) {
      const [error, code] = replies[i++] ?? [new Error('no reply')];
      if (error) unsettled.push(as);
      else this.reportFailed(outcome, code as number, as);
    }
    // Retries and periodic successors went to the delayed set: promote them when due.
    if (fails.length > 0 || sent.some((o) => o.definition.options.schedule)) this.ctx.delayedAdded();
    unsettled.forEach((o) => this.retried.add(o));
    if (unsettled.length > 0) {
      const cause = replies.find(([e]) => e)?.[0];
      this.ctx.logger.warn(
        `Could not settle ${unsettled.length} run(s) on queue "${this.ctx.queue}" (${cause?.message}); retrying.`,
      );
    }
    return unsettled;
  }

  /** The dead letter of a run that cannot be settled as it ended, saying why. */
  private deadLetterOf(outcome: Completed | Failed, error: Error): Failed {
    const m = outcome.delivery.message;
    const reason = `could not be settled: ${error.message}`;
    this.ctx.logger.error(`Task "${m.name}" (${m.id}) on queue "${this.ctx.queue}" ${reason}; dead-lettering it.`);
    return {
      kind: 'failed',
      delivery: outcome.delivery,
      definition: outcome.definition,
      error: { name: 'SettleError', message: reason },
      deadReason: reason,
    };
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

  private reportCompleted(outcome: Completed, code: number): void {
    const m = outcome.delivery.message;
    const base = { queue: this.ctx.queue, taskId: m.id, name: m.name, key: m.key, durationMs: outcome.delivery.runMs };
    if (code === COMPLETED || (code === SETTLED && this.retried.has(outcome)))
      this.ctx.events.emit({ type: 'completed', ...base });
    else if (code === SUPERSEDED) this.ctx.events.emit({ type: 'superseded', ...base, detail: 'tail' });
    else this.refused(m.id, m.name, code, base);
  }

  private reportFailed(outcome: Failed, code: number, as: Outcome): void {
    const { delivery, error } = outcome;
    const m = delivery.message;
    if (code === SETTLED && this.retried.has(as)) return; // our earlier call did it
    const base = { queue: this.ctx.queue, taskId: m.id, name: m.name, key: m.key, durationMs: outcome.delivery.runMs };
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
    base: { queue: string; taskId: string; name: string; key?: string; durationMs?: number },
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

import type { Redis } from 'ioredis';
import type { ScriptCall } from '../redis/scripts';
import { underlying } from '../redis/module-client';
import type { CompleteVerdict } from '../scripts/complete.script';
import type { FailVerdict } from '../scripts/fail.script';
import { FAILURE_MESSAGE_MAX, FAILURE_NAME_MAX } from '../task/task-outcome';
import { logText } from './log-text';
import type { Outcome } from './outcome';
import type { QueueContext } from './queue-context';
import { completeCall, failCall, intendedFailVerdict, type Completed, type Failed } from './settle-calls';
import { readStoredSchedules } from './stored-schedules';

type SettleCall = ScriptCall<CompleteVerdict[]> | ScriptCall<FailVerdict>;
type Reply = [Error | null, unknown];

/**
 * @internal Settles outcomes in Redis: all completions of a batch in one `complete` script
 * call, each failure in its own `fail` call, in one pipeline (one round trip). Every script
 * re-checks ownership and generation, so this class only reports what Redis decided. Each
 * outcome is isolated: one whose arguments cannot be built is dead-lettered with the reason,
 * and the others settle.
 */
export class Settler {
  /** Outcomes whose settle call failed once, or was sent on a connection that dropped before it
   * answered: the call may have run with its reply lost (and been resent by ioredis). A repeat
   * answered "no longer pending" may then be this worker's own earlier settle, or the settle of
   * a worker that took the run over while this one was cut off (see ownEarlierSettles). */
  private readonly retried = new WeakSet<Outcome>();
  /** Why the last outcomes this settler could not settle were not (for the health check's message). */
  lastFailure?: string;

  constructor(private readonly ctx: QueueContext) {}

  /** Returns the outcomes that could not be settled (connection trouble), to be retried. Never throws. */
  async settle(outcomes: Outcome[]): Promise<Outcome[]> {
    try {
      return await this.settleAll(outcomes);
    } catch (error) {
      const pending = outcomes.filter((o) => o.kind !== 'abandoned');
      this.lastFailure = (error as Error).message;
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
    const calls: SettleCall[] = [];
    const settling = [...completed, ...failed].map((o) => o.delivery.message);
    const stored = await readStoredSchedules(this.ctx.redis, this.ctx.keys, settling);
    const { call, sent, rejected } = completeCall(this.ctx, completed, stored);
    if (call) calls.push(call);
    // A failed run goes as itself; one that cannot be settled so (or a completion left out
    // above) goes as a dead letter with the reason, without a successor: `as` maps it back to
    // the outcome the pipeline handed in.
    const fails: { outcome: Failed; as: Outcome }[] = [];
    const unsettleable = (outcome: Completed | Failed, error: Error) => {
      const dead = this.deadLetterOf(outcome, error);
      calls.push(failCall(this.ctx, dead, false));
      fails.push({ outcome: dead, as: outcome });
    };
    for (const [outcome, error] of rejected) unsettleable(outcome, error);
    for (const outcome of failed) {
      let failure: ScriptCall<FailVerdict>;
      try {
        failure = failCall(this.ctx, outcome, true, stored);
      } catch (error) {
        unsettleable(outcome, error as Error);
        continue;
      }
      calls.push(failure);
      fails.push({ outcome, as: outcome });
    }
    const drops = dropsOf(this.ctx.redis);
    const replies = await this.send(calls);
    // Its connection dropped meanwhile: ioredis may have resent a call that Redis had run, whose
    // repeat answers "no longer pending", as after a retry: whose settle that was, Redis says
    // (ownEarlierSettles).
    if (dropsOf(this.ctx.redis) !== drops) [...sent, ...fails.map((f) => f.as)].forEach((o) => this.retried.add(o));
    const unsettled: Outcome[] = [];
    const verdicts = new Map<Outcome, CompleteVerdict | FailVerdict>();
    let i = 0;
    if (call) {
      const [error, reply] = replies[i++] ?? [new Error('no reply')];
      if (error) unsettled.push(...sent);
      else sent.forEach((o, j) => verdicts.set(o, (reply as CompleteVerdict[])[j]));
    }
    for (const { as } of fails) {
      const [error, verdict] = replies[i++] ?? [new Error('no reply')];
      if (error) unsettled.push(as);
      else verdicts.set(as, verdict as FailVerdict);
    }
    const own = await this.ownEarlierSettles(verdicts);
    const unsuperseded = await this.unsupersededRuns([
      ...sent.filter((o) => own.has(o)),
      ...fails.filter(({ as }) => own.has(as)).map((f) => f.outcome),
    ]);
    for (const o of sent) {
      const verdict = verdicts.get(o) as CompleteVerdict | undefined;
      if (verdict) this.reportCompleted(o, verdict, own.has(o), unsuperseded.has(o));
    }
    for (const { outcome, as } of fails) {
      const verdict = verdicts.get(as) as FailVerdict | undefined;
      if (verdict) this.reportFailed(outcome, verdict, own.has(as), unsuperseded.has(outcome));
    }
    // Retries and periodic successors (of runs that carry their slot) went to the delayed set:
    // promote them when due.
    if (fails.length > 0 || sent.some((o) => o.delivery.message.dueAt !== undefined)) this.ctx.delayedAdded();
    unsettled.forEach((o) => this.retried.add(o));
    if (unsettled.length > 0) {
      const cause = replies.find(([e]) => e)?.[0];
      this.lastFailure = cause?.message;
      this.ctx.logger.warn(
        `Could not settle ${unsettled.length} run(s) on queue "${this.ctx.queue}" (${cause?.message}); retrying.`,
      );
    }
    return unsettled;
  }

  /**
   * Of the retried runs answered "no longer pending", those that this worker's own earlier call
   * settled. The answer alone cannot say: a worker that took the run over (this one's lease
   * lapsed while it was cut off) may have settled it. Redis can: this worker's liveness key
   * found holding a value written since its last creation, which came before the run was proven
   * this worker's, has existed without a break since, so no other worker could take the run over
   * (reclaim.lua takes only from a worker whose key is gone). Whatever value it held at either
   * send: a key that never lapsed changes its value too (Lease.unbrokenSince). One GET, only on
   * this path; when the key cannot be read, none is counted as this worker's.
   */
  private async ownEarlierSettles(verdicts: Map<Outcome, CompleteVerdict | FailVerdict>): Promise<Set<Outcome>> {
    const { redis, keys, consumer, lease } = this.ctx;
    const resent = [...verdicts].filter(([o, verdict]) => verdict === 'not-pending' && this.retried.has(o));
    if (resent.length === 0 || !lease.unbrokenSince) return new Set();
    const alive = keys.alive(consumer);
    const since = lease.unbrokenSince(alive, await redis.get(alive).catch(() => null));
    return new Set(resent.filter(([o]) => since < o.delivery.provenAt).map(([o]) => o));
  }

  /**
   * Of the keyed runs (completions and failures) this worker's own earlier call settled, those
   * that call cannot have found superseded: their key state still holds the run's generation and
   * task id (the settle scripts' isStale). A generation is never drawn again, so a state that
   * holds it now held it then; one that moved on (a later call on the key, a periodic successor,
   * an expired state) cannot say. One HMGET per run, only on this path; a state that cannot be
   * read says nothing.
   */
  private async unsupersededRuns<T extends Completed | Failed>(runs: T[]): Promise<Set<T>> {
    const keyed = runs.filter((o) => o.delivery.message.key !== undefined);
    if (keyed.length === 0) return new Set();
    const { redis, keys } = this.ctx;
    const held = await Promise.all(
      keyed.map(async ({ delivery: { message: m } }) => {
        if (m.generation === 0) return true; // generation 0: never stale
        const [gen, id] = await redis.hmget(keys.keyState(m.key!), 'gen', 'id').catch(() => [null, null]);
        return gen === String(m.generation) && id === m.id;
      }),
    );
    return new Set(keyed.filter((_, i) => held[i]));
  }

  /** The dead letter of a run that cannot be settled as it ended, saying why. */
  private deadLetterOf(outcome: Completed | Failed, error: Error): Failed {
    const m = outcome.delivery.message;
    const reason = `could not be settled: ${error.message}`;
    this.ctx.logger.error(
      `Task "${logText(m.name)}" (${logText(m.id)}) on queue "${this.ctx.queue}" ${logText(reason, FAILURE_MESSAGE_MAX)}; dead-lettering it.`,
    );
    return {
      kind: 'failed',
      delivery: outcome.delivery,
      definition: outcome.definition,
      error: { name: 'SettleError', message: reason },
      deadReason: reason,
    };
  }

  /** One call goes alone (most batches at low load); more go as one pipeline: one round trip. */
  private async send(calls: SettleCall[]): Promise<Reply[]> {
    const { redis } = this.ctx;
    if (calls.length === 1) {
      return (calls[0] as ScriptCall<unknown>).runNow(redis).then(
        (reply): Reply[] => [[null, reply]],
        (error: Error): Reply[] => [[error, undefined]],
      );
    }
    const pipeline = redis.pipeline();
    for (const call of calls) call.queueOn(pipeline);
    const raw = ((await pipeline.exec()) ?? []) as Reply[];
    return raw.map(([error, reply], i): Reply => {
      if (error) return [error, undefined];
      try {
        return [null, calls[i].decode(reply)];
      } catch (decodeError) {
        return [decodeError as Error, undefined];
      }
    });
  }

  /**
   * `ownEarlier`: answered "no longer pending" because this worker's own earlier call settled it.
   * `unsuperseded`: a keyed run whose earlier call cannot have found it superseded (unsupersededRuns).
   */
  private reportCompleted(
    outcome: Completed,
    verdict: CompleteVerdict,
    ownEarlier: boolean,
    unsuperseded: boolean,
  ): void {
    const m = outcome.delivery.message;
    const base = { queue: this.ctx.queue, taskId: m.id, name: m.name, key: m.key, durationMs: outcome.delivery.runMs };
    // Our earlier call settled it: a keyed run it may have found superseded (acked, no result
    // written) is not reported, as a failure on this path is not (reportFailed).
    if (verdict === 'not-pending' && ownEarlier && m.key !== undefined && !unsuperseded) return;
    if (verdict === 'completed' || (verdict === 'not-pending' && ownEarlier))
      this.ctx.events.emit({ type: 'completed', ...base });
    else if (verdict === 'superseded') this.ctx.events.emit({ type: 'superseded', ...base, detail: 'tail' });
    else this.refused(m.id, m.name, verdict, base);
  }

  /** `unsuperseded`: a keyed run whose earlier call cannot have found it superseded (unsupersededRuns). */
  private reportFailed(outcome: Failed, answer: FailVerdict, ownEarlier: boolean, unsuperseded: boolean): void {
    const { delivery, error } = outcome;
    const m = delivery.message;
    let verdict = answer;
    if (verdict === 'not-pending' && ownEarlier) {
      // Our earlier call settled it, as asked: a run without a key cannot have been superseded,
      // nor a keyed one whose key state still holds its generation. Another keyed one may have
      // been (acked, nothing written): that cannot be told, so it is not reported.
      if (m.key !== undefined && !unsuperseded) return;
      verdict = intendedFailVerdict(outcome);
    }
    const base = { queue: this.ctx.queue, taskId: m.id, name: m.name, key: m.key, durationMs: outcome.delivery.runMs };
    if (verdict === 'retry-scheduled' || verdict === 'dead-lettered') {
      this.ctx.events.emit({ type: 'failed', ...base, detail: error.message });
      this.ctx.events.emit({ type: verdict, ...base, detail: error.message });
      if (verdict === 'dead-lettered') {
        // Cut as stored (storedFailure): a message of megabytes would be one log line of megabytes.
        const name = logText(error.name, FAILURE_NAME_MAX);
        const message = logText(error.message, FAILURE_MESSAGE_MAX);
        this.ctx.logger.warn(`Task "${logText(m.name)}" (${logText(m.id)}) dead-lettered: ${name}: ${message}`);
      }
    } else if (verdict === 'superseded') this.ctx.events.emit({ type: 'superseded', ...base, detail: 'tail' });
    else this.refused(m.id, m.name, verdict, base);
  }

  /**
   * refused: another worker owns the run now (it was reclaimed). not-pending: it is no longer
   * pending at all: another worker reclaimed and settled it, or this worker's own settle was
   * resent after a reconnect. Either way nothing was written.
   */
  private refused(
    id: string,
    name: string,
    verdict: 'refused' | 'not-pending',
    base: { queue: string; taskId: string; name: string; key?: string; durationMs?: number },
  ): void {
    const why =
      verdict === 'refused'
        ? 'another worker took the run over'
        : 'the run is no longer pending (settled elsewhere, or a resent call)';
    this.ctx.logger.warn(`Settling task "${logText(name)}" (${logText(id)}) was refused: ${why}; nothing was written.`);
    this.ctx.events.emit({
      type: 'completion-refused',
      ...base,
      detail: verdict === 'refused' ? 'owned-by-another' : 'not-pending',
    });
  }
}

/**
 * Drops (closes) seen per connection, counted by one listener each however many lanes settle on it.
 * Keyed by the client behind a view of it: a client handed in outlives its apps, and each app's view
 * of it left a listener of its own on it.
 */
const drops = new WeakMap<Redis, { n: number }>();

function dropsOf(redis: Redis): number {
  let count = drops.get(underlying(redis));
  if (!count) {
    const counter = { n: 0 };
    redis.on('close', () => void counter.n++);
    drops.set(underlying(redis), (count = counter));
  }
  return count.n;
}

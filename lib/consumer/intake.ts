import { isUtf8 } from 'node:buffer';
import type { ScriptEntry } from '../redis/scripts';
import type { ClaimVerdict } from '../scripts/claim.script';
import type { FlowLimits } from '../scripts/enqueue-flow.script';
import { enterAdmissionScript } from '../scripts/enter-admission.script';
import { cutText } from '../task/cut-text';
import { holdsGroupLimit } from '../task/flow-limits';
import {
  isMalformed,
  MAX_NAME_LENGTH,
  parseEntry,
  type MalformedMessage,
  type TaskMessage,
} from '../task/task-message';
import { LeaseLostError } from '../errors';
import { DeadLetterer } from './dead-letterer';
import { giveBackUnstarted } from './give-back-unstarted';
import type { Delivery } from './delivery';
import { monotonicMs, stillOwned } from './lease';
import { recoveryIdleMs } from './recovery-idle';
import { sendClaim } from './send-claim';
import type { QueueContext } from './queue-context';
import type { UnprovenRetakes } from './unproven-retakes';

/**
 * A raw stream entry as ioredis returns it; the recover and reclaim scripts add how many times
 * it was delivered (a read's entry is on its first delivery).
 */
export type RawEntry = ScriptEntry;

/** Entries Redis handed to this worker in reply to one request sent at `sentAt` (monotonicMs). */
export interface Handover {
  readonly entries: RawEntry[];
  readonly sentAt: number;
}

/**
 * @internal Turns entries this consumer was handed (read, reclaimed or recovered; each holding a
 * reserved slot) into deliveries ready to run. Malformed entries are dead-lettered. Keyed ones
 * pass the `claim` script (the head check) and run only if it says so; so do unkeyed ones whose
 * handover may be stale (the lease broke after the request was sent: another worker may have
 * reclaimed them meanwhile). Every entry is marked in flight before the first await, so the
 * sweep never recovers what this process holds, and admit never rejects: an entry it cannot
 * hand over leaves the in-flight set and frees its slot, still pending for the recovery.
 * An entry of a task with a concurrency limit here that was enqueued the plain way (no flow
 * field: by a producer without the task's definition) never runs as read: it moves into
 * admission (enter-admission.lua), so no enqueuer runs a task outside its limits.
 */
export class Intake {
  /** Task names already warned about: a producer's misconfiguration is said once, not per task. */
  private readonly warned = new Set<string>();
  /** Since when every admission that had runs to hand over failed, when and why the last did. */
  private failure?: { since: number; lastAt: number; message: string };

  constructor(
    private readonly ctx: QueueContext,
    /** The task's concurrency limits per this worker's definition; undefined when it has none. */
    private readonly limitsOf: (name: string) => FlowLimits | undefined = () => undefined,
    private readonly deadLetterer = new DeadLetterer(ctx),
    /** How long the recovery takes to page over this consumer's pending entries (the Sweeper's). */
    private readonly recoveryPassMs = () => ctx.config.sweepIntervalMs,
    /**
     * The queue's partition count as this worker maps it, the ungrouped group's partition under it
     * (partitionOfGroup), and whether any task of the queue here has a group limit: a plain entry
     * of a limited task is admitted only while the layout record holds that count (its partition's
     * share of the task's own limits depends on it: enter-admission.lua), and one of a task with a
     * group limit only in the ungrouped group's partition.
     */
    private readonly layout: {
      readonly count: number;
      readonly ungrouped: number;
      readonly groupLimited: boolean;
    } = { count: 1, ungrouped: 0, groupLimited: false },
    /** Where keyed runs given back unproven are remembered, to be taken again at the next confirmed beat. */
    private readonly retakes?: UnprovenRetakes,
  ) {}

  /**
   * Since when no admission got runs through while some failed (a claim refused on every try):
   * undefined once one succeeds. Each failure gives its runs back, and the sweep's recovery
   * brings them back once idle for its idle time and its pass (paged, a sweep a page) comes to
   * them, within a recovery's idle time and two passes, to fail again: a worker caught so reads
   * and settles without error while nothing of its queue runs. A streak whose runs were not
   * brought back for two such spells is over: they are gone (cancelled, taken by another worker),
   * and a queue that stays idle must not read as failing for good. A pass is a sweep interval
   * unless more runs are in progress than a page holds (the recovery pages over their entries).
   */
  get failingAdmissions(): { forMs: number; message: string } | undefined {
    const failure = this.failure;
    if (!failure) return undefined;
    const now = monotonicMs();
    if (now - failure.lastAt > 2 * (this.recoveryPassMs() + recoveryIdleMs(this.ctx.config.blockMs))) return undefined;
    return { forMs: Math.round(now - failure.since), message: failure.message };
  }

  async admit({ entries, sentAt }: Handover): Promise<Delivery[]> {
    const { inFlight, slots } = this.ctx;
    const fresh = entries.filter(([entryId]) => !inFlight.has(entryId));
    slots.release(entries.length - fresh.length);
    const held = new Set<Delivery>();
    const malformed: MalformedMessage[] = [];
    for (const [entryId, fields, deliveries] of fresh) {
      const parsed = parseEntry(entryId, fields, this.ctx.config.maxPayloadBytes);
      if (isMalformed(parsed)) malformed.push(parsed);
      else held.add(inFlight.add(parsed, sentAt, deliveries, slots.adopt()));
    }
    // A failure before malformed entries reach the dead-letterer (which frees their slots)
    // frees their slots here.
    let deadLettering = false;
    try {
      for (const stray of this.strays(held)) {
        // Dead-lettered instead of run: its Slot is never used (deadLetter frees one).
        held.delete(stray.delivery);
        inFlight.delete(stray.entryId);
        malformed.push(stray);
      }
      const notUtf8 = await this.notUtf8(fresh.filter(([, fields]) => fields?.some((f) => f.includes('\uFFFD'))));
      for (const bad of notUtf8) {
        const delivery = [...held].find((d) => d.message.entryId === bad.entryId);
        if (!delivery) continue; // already malformed: dead-lettered once, for its first reason
        // Dead-lettered as malformed instead: its entry's hold is freed below, once dead-lettered
        // (its Slot is never used).
        held.delete(delivery);
        inFlight.delete(bad.entryId);
        malformed.push(bad);
      }
      const fieldsOf = new Map(fresh.map(([entryId, fields]) => [entryId, fields]));
      deadLettering = true;
      await Promise.all(malformed.map((m) => this.deadLetter(m, fieldsOf.get(m.entryId))));
      await this.enterAdmission(held, fieldsOf);
      const toHandOver = held.size;
      const { ready, refused } = await this.claimWhereNeeded([...held], sentAt, held);
      if (refused) this.failed(refused);
      else if (toHandOver > 0) this.failure = undefined;
      return ready;
    } catch (error) {
      if (held.size > 0) this.failed((error as Error).message);
      // Never strand a delivery: what was not handed over is still pending under this consumer,
      // and the sweep's recovery admits it again. Its delivery is given back first: a claim that
      // fails each time (an ACL refusing a command it calls) would otherwise count one per
      // recovery and dead-letter the task as poison without a run.
      this.ctx.logger.warn(
        `Admitting ${held.size} run(s) on queue "${this.ctx.queue}" failed: ${(error as Error).message}`,
      );
      await giveBackUnstarted(this.ctx, [...held]);
      for (const d of held) this.drop(d);
      if (!deadLettering) this.ctx.slots.release(malformed.length);
      return [];
    }
  }

  /** Records an admission that failed, for failingAdmissions. */
  private failed(message: string): void {
    const now = monotonicMs();
    const since = this.failingAdmissions ? this.failure!.since : now;
    this.failure = { since, lastAt: now, message };
  }

  /**
   * Runs the claim script for the deliveries that need it: every keyed one, every rate-limited
   * one (its start is counted there), and unkeyed ones whose handover is older than the lease's
   * unbroken stretch. Removes from `held` what it hands over or drops. A rate-limited one told
   * to wait is handed over with its wait (RateHold holds it before its handler). `refused` says
   * why keyed runs were given back unstarted for want of a fencing number: the queue's sequence
   * passed 2^53-1 (anyone with Redis access can SET it), and none of its keyed runs starts until
   * an operator sets it back; an admission failure (failingAdmissions) and a warning say so.
   */
  private async claimWhereNeeded(
    deliveries: Delivery[],
    sentAt: number,
    held: Set<Delivery>,
  ): Promise<{ ready: Delivery[]; refused?: string }> {
    const proofStale = !stillOwned(this.ctx.lease, sentAt) || sentAt <= this.ctx.inFlight.recoveredAt;
    const toClaim = deliveries.filter((d) => d.message.key !== undefined || this.isRated(d.message) || proofStale);
    const ready = deliveries.filter((d) => !toClaim.includes(d));
    const handOver = () => ready.forEach((d) => held.delete(d));
    if (toClaim.length === 0) {
      handOver();
      return { ready };
    }
    const claimSentAt = monotonicMs();
    // Handed over only once the claim answered: if it fails, admit drops them with the rest.
    const verdicts = await this.claim(
      toClaim.map((d) => d.message),
      claimSentAt,
    );
    handOver();
    const unproven: Delivery[] = [];
    /** Those of `unproven` a proven lease may run (a no-fence one waits for an operator). */
    const retake: string[] = [];
    let noFence = 0;
    toClaim.forEach((d, i) => {
      held.delete(d);
      const v = verdicts[i];
      if (v.verdict === 'run' || v.verdict === 'wait') {
        this.started(d, v, claimSentAt);
        ready.push(d);
        return;
      }
      if (v.verdict === 'no-fence') noFence++;
      if (v.verdict === 'unproven') retake.push(d.message.entryId);
      if (v.verdict === 'unproven' || v.verdict === 'no-fence') return void unproven.push(d);
      this.drop(d);
      if (v.verdict === 'deferred') this.ctx.delayedAdded();
      if (v.verdict === 'stale') {
        const m = d.message;
        this.ctx.events.emit({
          type: 'superseded',
          queue: this.ctx.queue,
          taskId: m.id,
          name: m.name,
          key: m.key,
          detail: 'head',
        });
      }
    });
    // Still this consumer's, never started: its recovery claims it again, counted once. One
    // unproven is taken again sooner, once a beat proves the lease (UnprovenRetakes).
    await giveBackUnstarted(this.ctx, unproven);
    unproven.forEach((d) => this.drop(d));
    this.retakes?.remember(retake);
    if (noFence === 0) return { ready };
    const refused =
      `the sequence ${this.ctx.keys.seq} passed 2^53-1: ${noFence} keyed run(s) got no exact fencing number ` +
      `and were given back unstarted (set it back to the highest generation its queue uses)`;
    this.ctx.logger.warn(`Admitting runs on queue "${this.ctx.queue}" failed: ${refused}`);
    return { ready, refused };
  }

  /**
   * Claims a rate-limited delivery again after its wait (RateHold): it may start, wait again,
   * or, no longer this consumer's, is aborted (its run is abandoned, never started).
   */
  async claimAgain(d: Delivery): Promise<void> {
    const sentAt = monotonicMs();
    // A start its last claim counted moves to now (its run begins now), while in its window.
    const [v] = await this.claim([d.message], sentAt, d.startedAt);
    if (v.verdict === 'run' || v.verdict === 'wait') return this.started(d, v, sentAt);
    d.abort(new LeaseLostError("The run waiting for a rate token is no longer this worker's: it was not started."));
  }

  /**
   * Whether the message's start is counted by claim.lua (it may wait for a rate token): an
   * unkeyed flow entry admitted under a rate (field rl), or of a task whose definition here has
   * one. A producer with an older definition, or none, admits without rl: this worker's rates
   * still gate the start.
   */
  isRated(m: TaskMessage): boolean {
    return (
      m.key === undefined && m.flow !== undefined && (m.flow.rated === true || this.ownRates(m.name) !== undefined)
    );
  }

  /** The task's limits per this worker's definition, when they have a rate. */
  private ownRates(name: string): FlowLimits | undefined {
    const limits = this.limitsOf(name);
    return limits?.rate || limits?.groupRate ? limits : undefined;
  }

  /** Applies a claim's 'run' or 'wait' to its delivery. */
  private started(d: Delivery, v: ClaimVerdict & { verdict: 'run' | 'wait' }, claimSentAt: number): void {
    if (v.verdict === 'wait') {
      d.rateWaitMs = v.waitMs;
      return;
    }
    d.rateWaitMs = undefined;
    d.provenAt = claimSentAt;
    // A stale reply said fewer deliveries than Redis counts now (a takeover and back).
    d.deliveries = Math.max(d.deliveries, v.deliveries);
    if (d.message.key !== undefined) d.fence = v.fence;
    if (v.startedAt !== undefined) {
      d.startedAt = v.startedAt;
      d.startCountedAt = monotonicMs();
      // A wake set for that moment may be unknown to the promoters: this worker promotes then,
      // timed from the claim's sending (the start is no earlier), not its late reply.
      this.ctx.promoteIn?.(Math.max(0, (v.windowEndsInMs ?? 0) - (monotonicMs() - claimSentAt)));
    }
  }

  /**
   * The held deliveries that bypassed admission (as enterAdmission moves) of a task with a group
   * limit, in a partition other than their ungrouped group's: admitted here they would be counted
   * apart from the group's runs in its own partition, above its limit, and a move to that
   * partition is no atomic step (another slot on a cluster). They are dead-lettered, saying why.
   * One of a task with only its own limits (globalConcurrency, rateLimit) is admitted wherever it
   * landed, under that partition's share. A queue without a group-limited task here walks nothing.
   */
  private strays(held: Set<Delivery>): Array<MalformedMessage & { delivery: Delivery }> {
    const { count, ungrouped, groupLimited } = this.layout;
    if (!groupLimited || this.ctx.keys.partition === ungrouped) return [];
    return [...held].flatMap((delivery) => {
      const { flow, key, name, entryId } = delivery.message;
      if (flow || key !== undefined) return [];
      const limits = this.limitsOf(name);
      if (!limits || !holdsGroupLimit(limits)) return [];
      const reason =
        `task "${name}" has a group limit but was enqueued without flow control (by a process without its ` +
        `@Task definition?) into partition ${this.ctx.keys.partition} of queue "${this.ctx.queue}" ` +
        `(${count} partitions): its ungrouped runs are counted in partition ${ungrouped}. ` +
        `Enqueue it from a process with its definition, or with a group`;
      return [{ entryId, reason, delivery }];
    });
  }

  /**
   * Moves the held deliveries that bypassed admission (a limited task without the flow field)
   * into it, and drops them here: they run once admitted, as a new entry of the same task. One
   * this worker's count would admit where the stored count differs (this worker runs on with an
   * old count after a change) is dead-lettered, saying why: admitted here its runs would be
   * counted under a share of another count, or apart from its group's in the partition the
   * stored count routes the ungrouped group to.
   */
  private async enterAdmission(held: Set<Delivery>, fieldsOf: Map<string, string[] | null>): Promise<void> {
    const unflowed = [...held].flatMap((d) => {
      const limits = d.message.flow || d.message.key !== undefined ? undefined : this.limitsOf(d.message.name);
      return limits ? [{ d, limits }] : [];
    });
    if (unflowed.length === 0) return;
    const { keys, group, consumer, redis } = this.ctx;
    const replies = await Promise.all(
      unflowed.map(({ d, limits }) =>
        enterAdmissionScript(keys, {
          group,
          consumer,
          entryId: d.message.entryId,
          taskId: d.message.id,
          limits,
          partitions: this.layout.count,
        }).run(redis),
      ),
    );
    const stale: Array<Promise<unknown>> = [];
    unflowed.forEach(({ d }, i) => {
      const { outcome, entryId: stored } = replies[i];
      if (outcome === 'not-to-move') return; // changed under it: runs as read (never happens)
      held.delete(d);
      this.drop(d);
      if (outcome === 'stale-count') {
        const reason =
          `task "${d.message.name}" has a limit but was enqueued without flow control into partition ` +
          `${keys.partition} of queue "${this.ctx.queue}", and this worker maps ${this.layout.count} partition(s) ` +
          `where the queue's layout record says ${stored}: restart it with the queue's count (a redrive puts the ` +
          `entry back in this partition)`;
        stale.push(this.deadLetterer.deadLetter(d.message.entryId, fieldsOf.get(d.message.entryId), reason));
        return;
      }
      if (!this.warned.has(d.message.name)) {
        this.warned.add(d.message.name);
        this.ctx.logger.warn(
          `Task "${d.message.name}" on queue "${this.ctx.queue}" was enqueued without its concurrency limits ` +
            `(by a process without its @Task definition?): moved into admission instead of running.`,
        );
      }
    });
    await Promise.all(stale);
  }

  /**
   * ioredis decodes replies as UTF-8 and turns each invalid byte into U+FFFD: an entry showing
   * one is read again as bytes, and is malformed if they are not UTF-8 (altered data never runs).
   */
  private async notUtf8(entries: RawEntry[]): Promise<MalformedMessage[]> {
    const found: MalformedMessage[] = [];
    for (const [entryId] of entries) {
      const [entry] = await this.ctx.redis.xrangeBuffer(this.ctx.keys.stream, entryId, entryId);
      const bad = entry ? entry[1].findIndex((b) => !isUtf8(b)) : -1;
      if (bad >= 0) {
        // The field's name as anyone wrote it, of any size: cut, as the reason is stored and logged.
        const field = cutText(entry[1][bad - (bad % 2)].toString(), MAX_NAME_LENGTH);
        found.push({ entryId, reason: `field "${field}" is not valid UTF-8` });
      }
    }
    return found;
  }

  /**
   * claim.lua, sent now (`sentAt`). A keyed run is marked running only under a liveness value
   * this worker knows as its own (confirmed written before the claim was sent): one written after
   * a lapse whose reply has not come back would make the run, unstarted, look held by this live
   * worker for good (see claim.lua's code 5).
   */
  private claim(messages: TaskMessage[], sentAt: number, earlierStart?: number): Promise<ClaimVerdict[]> {
    const { keys, group, consumer, config, lease } = this.ctx;
    return sendClaim(this.ctx.redis, keys, {
      group,
      consumer,
      deferMs: deferDelayMs(config.sweepIntervalMs),
      stateTtlMs: config.resultTtlMs,
      liveness: lease.livenessSince(sentAt) ?? '',
      // Its own rates are its partition's share under this count: claim.lua checks it is the record's.
      partitions: this.layout.count,
      messages: messages.map((m) => {
        const rated = this.isRated(m);
        return {
          entryId: m.entryId,
          taskId: m.id,
          generation: m.generation,
          key: m.key,
          rated,
          ownLimits: rated ? this.ownRates(m.name) : undefined,
          earlierStart,
        };
      }),
    });
  }

  private async deadLetter(m: MalformedMessage, fields: string[] | null | undefined): Promise<void> {
    try {
      await this.deadLetterer.deadLetter(m.entryId, fields, m.reason);
    } finally {
      this.ctx.slots.release();
    }
  }

  private drop(delivery: Delivery): void {
    this.ctx.inFlight.delete(delivery.message.entryId);
    delivery.slot.release();
  }
}

/** A run deferred behind an older generation of its key is retried about this much later. */
function deferDelayMs(sweepIntervalMs: number): number {
  return Math.min(250, sweepIntervalMs);
}

import { xinfoRecord } from '../redis/xinfo-reply';
import { dropConsumerScript } from '../scripts/drop-consumer.script';
import { promoteDue, type PromoteReply } from '../scripts/promote.script';
import { CONSUMER_LIST_LIMIT, queueStateRefusal } from '../scripts/queue-state.script';
import { readPositionScript } from '../scripts/read-position.script';
import { reclaimScript } from '../scripts/reclaim.script';
import { trimRateStartsScript } from '../scripts/trim-rate-starts.script';
import { entryIdentity } from '../task/entry-identity';
import { recoverReserved, type PendingRow } from './recover-reserved';
import { recoveryIdleMs } from './recovery-idle';
import { DeadLetterer } from './dead-letterer';
import type { Handover, RawEntry } from './intake';
import { monotonicMs } from './lease';
import type { QueueContext } from './queue-context';
import { SweepLock } from './sweep-lock';
import { endStrandedCancels } from './stranded-cancels';

const PROMOTE_BATCH = 1_000;
/** How often at most a worker warns of refused flow admissions, per partition (see warnRefused). */
const REFUSED_WARN_MS = 10_000;
const PENDING_PAGE = 200;
/**
 * Rate-limit start records looked at per sweep (see trimRateStarts): 500 a second at the default
 * interval, more than a queue starts runs in new groups on most fleets; a pass that falls behind
 * catches up once the groups stop coming.
 */
const RATE_STARTS_PAGE = 1_000;

/**
 * @internal The sweeps of one queue, run by every worker:
 * - promote (its own loop, see promote()): due delayed tasks move into the stream;
 * - recover: this consumer's own pending entries it does not hold in memory (a read whose reply
 *   was lost with its connection) are taken back;
 * - reclaim (under the sweep lock): entries of dead owners are claimed or dead-lettered as
 *   poison, and dead consumers holding nothing are removed from the group; the runs a cancel
 *   left to a live owner's settle after a purge (stranded cancels) are ended once that owner's
 *   lease lapsed; on a queue with rate limits, a page of their start records is walked and those
 *   out of their window removed.
 * Returns the entries it took, each with a reserved slot.
 */
export class Sweeper {
  private readonly lock: SweepLock;
  private cursor = '-';
  /**
   * Where the next recovery reads this consumer's idle pending entries from ('-': the oldest). It
   * pages on across sweeps, as the reclaim's cursor does: a page always read from the oldest
   * held only runs in progress once more than a page of them were (a long handler's entry is idle
   * for as long as it runs), and an entry lost behind them was never found while they ran.
   */
  private recoverCursor = '-';
  /** When the recovery's pass over this consumer's pending entries began (see recoveryPassMs). */
  private passStartedAt = 0;
  /** How long the last whole pass took, and the one under way so far (see recoveryPassMs). */
  private lastPassMs = 0;
  private passSoFarMs = 0;
  /** The suspect this worker runs in isolation, if any (see reclaim). */
  private suspect?: string;
  /** The last sweep warned that the group's consumers are not listed (see dropDeadConsumers). */
  private crowdWarned = false;
  /** Where the walk over the rate-limit start records goes on (see trimRateStarts). */
  private rateStartsCursor = '';
  /** Since when every promotion failed, and why the last did (see failingPromotions). */
  private promoteFailure?: { since: number; last: number; message: string };
  /** When this worker last warned of a refused flow admission (see warnRefused). */
  private refusedWarnedAt?: number;

  /** `rated`: a task of the queue has a rate limit here, so its start records are trimmed. */
  constructor(
    private readonly ctx: QueueContext,
    private readonly deadLetterer = new DeadLetterer(ctx),
    private readonly rated = false,
  ) {
    this.lock = new SweepLock(ctx.redis, ctx.keys, ctx.config.leaseMs);
  }

  /** The entries taken, with the time the first request that took them was sent. */
  async sweep(): Promise<Handover> {
    // Entries taken now could not start (see TaskRunner): sweep once the lease is confirmed.
    if (!this.ctx.lease.isHeld()) return { entries: [], sentAt: 0 };
    const sentAt = monotonicMs();
    const taken = await this.recover();
    try {
      const token = await this.lock.acquire();
      if (!token) return { entries: taken, sentAt };
      try {
        taken.push(...(await this.reclaim()));
        await this.dropDeadConsumers();
        await this.endStrandedCancels();
        if (this.rated) await this.trimRateStarts();
      } finally {
        await this.lock.release(token).catch(() => undefined);
      }
    } catch (error) {
      // What was taken is handed over all the same: left pending unstarted, the next recovery
      // would count a delivery more, and a step failing on every sweep (an ACL refusing XGROUP
      // DELCONSUMER) would dead-letter it as poison without a run.
      if (taken.length === 0) throw error;
      this.ctx.logger.warn(
        `Queue "${this.ctx.queue}": a sweep failed (${(error as Error).message}) after taking ${taken.length} run(s), which run.`,
      );
    }
    return { entries: taken, sentAt };
  }

  /**
   * Moves due delayed tasks into the stream (atomic, safe from every worker at once) and
   * returns how long to wait before the next call: until the next member is due by Redis's
   * clock, at most a sweep interval (a task added meanwhile may be due sooner), at once when a
   * full batch moved. `wakes`: a rate limit's wake is expected due (a start left its window), so
   * wakes are served at once, without reading the delayed set first.
   */
  async promote(wakes = false): Promise<number> {
    const { keys, config } = this.ctx;
    let reply: PromoteReply;
    try {
      reply = await promoteDue(this.ctx.redis, keys, {
        limit: PROMOTE_BATCH,
        deadLetterMaxLen: config.deadLetterMaxLen,
        stateTtlMs: config.resultTtlMs,
        wakes,
      });
    } catch (error) {
      const now = monotonicMs();
      this.promoteFailure = { since: this.promoteFailure?.since ?? now, last: now, message: (error as Error).message };
      throw error;
    }
    // One that served wakes alone (a rated start left its window) read no delayed member: it
    // says nothing of their promotion, refused on every try as they may be.
    if (!wakes) this.promoteFailure = undefined;
    if (reply.admissionRefused) this.warnRefused(reply.admissionRefused);
    const { moved, nextDueInMs } = reply;
    if (moved >= PROMOTE_BATCH) return 0;
    return nextDueInMs < 0 ? config.sweepIntervalMs : Math.min(nextDueInMs, config.sweepIntervalMs);
  }

  /**
   * Since when every promotion of this partition failed, and why the last did: undefined once one
   * succeeds (one that finds nothing due too: what it was refused for is gone; not one that served
   * flow wakes alone, which reads no delayed member). A promotion
   * refused on every try (a stream out of ids, a key of the wrong type, an ACL) leaves its due
   * tasks delayed for good, retries and periodic successors among them, while reads, runs and
   * settles succeed. The promotion loop tries again within a sweep interval, paused or not.
   * The streak lasts from its first failure to its last, not to now: the next try may be a sweep
   * interval away, and one failure (a blip) before a long one read as failing for all of it,
   * though Redis answered every command since. (Refused admissions of waiting flow tasks, caught
   * inside promotions that succeed, are the partition's record in Redis: the health check reads
   * them there, see includes/flow.lua noteRefusedAdmission.)
   */
  get failingPromotions(): { forMs: number; message: string } | undefined {
    const failure = this.promoteFailure;
    return failure && { forMs: Math.round(failure.last - failure.since), message: failure.message };
  }

  /**
   * Warns of a waiting flow task's admission refused in this promotion (a stream out of ids): it
   * is caught, so the promotion succeeds, the task waits on and a wake tries again a second
   * later. Warned at the first refusal this worker sees and then at most every REFUSED_WARN_MS
   * (about every tenth try: the tries may be any worker's, a settle's among them).
   */
  private warnRefused({ message, tries }: { message: string; tries: number }): void {
    const now = monotonicMs();
    if (this.refusedWarnedAt !== undefined && now - this.refusedWarnedAt < REFUSED_WARN_MS) return;
    this.refusedWarnedAt = now;
    this.ctx.logger.warn(
      `Queue "${this.ctx.queue}": a waiting flow task's admission into the stream was refused: ${message}; the task waits, tried again every second (${tries} refused in a row).`,
    );
  }

  /**
   * How long the recovery takes to page once over this consumer's pending entries: the last whole
   * pass, or the one under way if longer, counted up to its last page (a sweep interval each, at
   * least one). Entries of runs in progress are paged over, not taken: with more of them than a
   * page, an entry given back is taken again only once per pass (see Intake.failingAdmissions).
   */
  recoveryPassMs(): number {
    return Math.max(this.ctx.config.sweepIntervalMs, this.lastPassMs, this.passSoFarMs);
  }

  private async recover(): Promise<RawEntry[]> {
    const { redis, keys, group, consumer, inFlight, slots, config } = this.ctx;
    const idle = recoveryIdleMs(config.blockMs);
    const now = monotonicMs();
    if (this.recoverCursor === '-') this.passStartedAt = now;
    // Counted when the cursor moves on: a page read again (slots short for it) makes no pass longer.
    const moveOn = (next: string) => {
      this.recoverCursor = next;
      this.passSoFarMs = now - this.passStartedAt + config.sweepIntervalMs;
      if (next === '-') [this.lastPassMs, this.passSoFarMs] = [this.passSoFarMs, 0];
    };
    const start = this.recoverCursor === '-' ? '-' : `(${this.recoverCursor}`;
    const rows = (await redis.xpending(
      keys.stream,
      group,
      'IDLE',
      idle,
      start,
      '+',
      PENDING_PAGE,
      consumer,
    )) as PendingRow[];
    const lostRows = rows.filter(([id]) => !inFlight.has(id));
    const lost = lostRows.map(([id]) => id);
    // Past this page once all it lost is taken: read again while slots are short for it, or its take failed.
    const next = rows.length < PENDING_PAGE ? '-' : rows[rows.length - 1][0];
    if (lost.length === 0) moveOn(next);
    const n = slots.reserve(lost.length);
    if (n === 0) return [];
    const entries = await recoverReserved(this.ctx, lostRows.slice(0, n));
    if (n === lost.length) moveOn(next);
    // Taken back once too often (each take-back counts as a delivery): poison, like a reclaim's.
    const poison = entries.filter(([, , deliveries]) => (deliveries ?? 1) > config.maxDeliveries);
    await this.deadLetterPoison(poison);
    slots.release(poison.length);
    return entries.filter((e) => !poison.includes(e));
  }

  /** Past the delivery limit: dead-lettered (each ends its key's run), never run again. */
  private async deadLetterPoison(poison: RawEntry[]): Promise<number> {
    let done = 0;
    for (const [id, fields, deliveries] of poison) {
      // `deliveries` counts this sweeper's own claim, which only dead-letters it.
      const reason = `delivered ${(deliveries ?? 1) - 1} times without settling (poison message?)`;
      if (await this.deadLetterer.deadLetter(id, fields, reason)) done += 1;
    }
    return done;
  }

  private async reclaim(): Promise<RawEntry[]> {
    const { redis, keys, group, consumer, slots, config, events, queue, logger } = this.ctx;
    const start = this.cursor === '-' ? '-' : `(${this.cursor}`;
    const rows = (await redis.xpending(keys.stream, group, start, '+', PENDING_PAGE)) as PendingRow[];
    this.cursor = rows.length < PENDING_PAGE ? '-' : rows[rows.length - 1][0];
    const foreign = rows.filter(([, owner]) => owner !== consumer);
    if (foreign.length === 0) return [];
    const owners = [...new Set(foreign.map(([, owner]) => owner))];
    const alive = await Promise.all(owners.map((o) => redis.exists(keys.alive(o))));
    const dead = new Set(owners.filter((_, i) => alive[i] === 0));
    // Poison is dead-lettered whatever the free slots; a claim needs a slot.
    const overLimit = foreign.filter(
      ([, owner, , deliveries]) => dead.has(owner) && deliveries >= config.maxDeliveries,
    );
    // A message whose worker died once is reclaimed with the rest of that worker's batch. One
    // that was in flight at two deaths is a suspect: suspects are taken one at a time per worker,
    // so a poison message cannot take innocent batchmates with it to the delivery limit.
    const claimable = foreign.filter(([, owner, , deliveries]) => dead.has(owner) && deliveries < config.maxDeliveries);
    const isolating = this.suspect !== undefined && this.ctx.inFlight.has(this.suspect);
    const firstSuspect = claimable.find(([, , , deliveries]) => deliveries >= 2);
    const wanted = [
      ...claimable.filter(([, , , deliveries]) => deliveries < 2),
      ...(firstSuspect && !isolating ? [firstSuspect] : []),
    ];
    const n = slots.reserve(wanted.length);
    const candidates = [...overLimit, ...wanted.slice(0, n)];
    if (candidates.length === 0) return [];
    const { claimed, poison, dropped } = await reclaimScript(keys, {
      group,
      consumer,
      maxDeliveries: config.maxDeliveries,
      candidates: candidates.map(([entryId, owner, , deliveries]) => ({ entryId, owner, deliveries })),
    })
      .run(redis)
      .catch((error: unknown) => {
        slots.release(n);
        throw error;
      });
    slots.release(n - claimed.length);
    const deadLettered = await this.deadLetterPoison(poison);
    if (firstSuspect && claimed.some(([id]) => id === firstSuspect[0])) this.suspect = firstSuspect[0];
    for (const [id, raw] of claimed) {
      const { taskId, name, key } = entryIdentity(raw);
      events.emit({ type: 'reclaimed', queue, taskId, name, key, detail: id });
    }
    if (claimed.length + deadLettered + dropped > 0) {
      logger.log(
        `Queue "${queue}": reclaimed ${claimed.length}, dead-lettered ${deadLettered} poison, dropped ${dropped} deleted entries from dead workers.`,
      );
    }
    return claimed;
  }

  /**
   * Removes dead consumers that hold nothing, so the group's list stays bounded. Anyone can
   * create consumers (XGROUP CREATECONSUMER), and XINFO CONSUMERS reads every one: the group's
   * consumers are counted first (read-position.lua, within the bound of groups), and a group of
   * more than CONSUMER_LIST_LIMIT is not listed (warned once, until it is back within). Removing
   * one frees nothing a run needs, so leaving them costs nothing but the list.
   */
  private async dropDeadConsumers(): Promise<void> {
    const { redis, keys, group, consumer, config, logger } = this.ctx;
    const crowded = await this.crowdedGroup();
    if (crowded !== undefined && !this.crowdWarned) logger.warn(crowded);
    this.crowdWarned = crowded !== undefined;
    if (crowded !== undefined) return;
    const rows = (await redis.xinfo('CONSUMERS', keys.stream, group)) as unknown[][];
    const dead = rows
      .map((row) => xinfoRecord(row))
      .filter((info) => info.name !== consumer && Number(info.pending) === 0 && Number(info.idle) >= config.leaseMs);
    // Together: one round trip, not one per consumer (each script re-checks its own).
    await Promise.all(dead.map((info) => dropConsumerScript(keys, { group, consumer: String(info.name) }).run(redis)));
  }

  /**
   * Ends the runs left to their owner's settle (by a cancel, or a replacement dead-lettered while
   * they ran) whose delivery went (a purge, an entry deleted), once that owner's lease lapsed (see
   * stranded-cancels.ts): no settle comes then, and no reclaim finds a delivery in no pending list.
   * One SRANDMEMBER per sweep while there are none.
   */
  private async endStrandedCancels(): Promise<void> {
    const { redis, keys, group, config, queue, logger } = this.ctx;
    const ended = await endStrandedCancels(redis, keys, { group, stateTtlMs: config.resultTtlMs });
    if (ended > 0)
      logger.log(
        `Queue "${queue}": ended ${ended} cancelled or superseded run(s) whose delivery and worker were gone.`,
      );
  }

  /**
   * Removes a page of the rate-limit start records that left their window. A window is trimmed
   * when it is counted, so the records of a group never served again (a customer, a tenant)
   * stayed for good without this: one page per sweep, under the sweep lock, the walk going on
   * from where the last one stopped (this worker's; another's lock holder walks its own).
   */
  private async trimRateStarts(): Promise<void> {
    const { cursor } = await trimRateStartsScript(this.ctx.keys, {
      cursor: this.rateStartsCursor,
      count: RATE_STARTS_PAGE,
    }).run(this.ctx.redis);
    this.rateStartsCursor = cursor;
  }

  /** Why the group's consumers are not listed (too many, or too many groups), or undefined. */
  private async crowdedGroup(): Promise<string | undefined> {
    const { redis, keys, group, queue } = this.ctx;
    let consumers: number;
    try {
      consumers = (await readPositionScript(keys, group).run(redis))?.consumers ?? 0;
    } catch (error) {
      const refusal = queueStateRefusal(keys, error as Error);
      if (refusal === error) throw error;
      return `${refusal.message} Meanwhile dead consumers are not removed from the group.`;
    }
    if (consumers <= CONSUMER_LIST_LIMIT) return undefined;
    const where = keys.partition === 0 ? '' : ` (partition ${keys.partition})`;
    return (
      `Queue "${queue}"${where}: the consumer group has ${consumers} consumers, more than ${CONSUMER_LIST_LIMIT}: ` +
      `dead ones are not removed, since listing them reads every one. Workers make one each: remove the ` +
      `others (XGROUP DELCONSUMER).`
    );
  }
}

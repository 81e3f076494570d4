import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { PartitionLayoutError } from '../errors';
import { lostLayout } from '../errors/partition-layout.error';
import { QueueKeys } from '../redis/keys';
import { RedisConnections } from '../redis/redis-connections';
import { partitionsOf, type StreamQueueConfig } from '../stream-queue.config';
import { MAX_TIMER_MS, STREAM_QUEUE_CONFIG } from '../stream-queue.constants';
import { RESTORE_EVERY_SWEEPS } from '../task/periodic-scheduler';
import { PartitionLayouts } from './partition-layout';
import { QueuePartitions } from './queue-partitions';

/**
 * @internal Records a queue's partition count again when Redis lost its layout record (restarted
 * without persistence, flushed): it then reads as 1, and every keyed or flow write of a process
 * configured with more was refused until the process restarted. A count change to 1 writes the
 * record '1' (layout.lua), so a record gone under a process of more than one partition was lost,
 * not changed by a deploy.
 *
 * The record is put back by the step bootstrap runs (PartitionLayouts.adopt), never by a SET: the
 * switch's freeze checks every partition is empty and races with other processes as at boot, so a
 * task written since the loss under another count (a process without the queue's config) is
 * never left where the mapping would not look. One step per queue at a time in this process:
 * concurrent refused calls share it. It runs when a refused call finds the record gone (then the
 * call is retried once), when the command connection is ready again after a reconnect (a restart
 * always cuts it), and every RESTORE_EVERY_SWEEPS sweep intervals for a loss without one (FLUSHDB).
 *
 * A record lost in another partition while partition 0's holds the count (on a cluster, the master
 * of that partition's slot restarted without persistence) is written back with SET NX at the same
 * moments (restoreOthers): no step is needed there, see its comment.
 */
@Injectable()
export class LostLayouts implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('StreamQueue');
  private readonly steps = new Map<string, Promise<boolean>>();
  private stopWatching: (() => void) | undefined;

  constructor(
    @Inject(STREAM_QUEUE_CONFIG) private readonly config: StreamQueueConfig,
    private readonly connections: RedisConnections,
    private readonly layouts: PartitionLayouts,
  ) {}

  onApplicationBootstrap(): void {
    // init() again after a failed one: the watch the first set up goes, or it checked twice.
    this.onModuleDestroy();
    const queues = [...this.config.queues.keys()].filter((queue) => partitionsOf(this.config, queue) > 1);
    if (queues.length === 0) return;
    const redis = this.connections.commands;
    const check = () => void Promise.all(queues.map((queue) => this.checkQuietly(queue)));
    // Registered after the boot's own 'ready': each one from now on follows a reconnect.
    redis.on('ready', check);
    // Past MAX_TIMER_MS, Node would fire it every millisecond.
    const timer = setInterval(check, Math.min(this.config.sweepIntervalMs * RESTORE_EVERY_SWEEPS, MAX_TIMER_MS));
    timer.unref();
    this.stopWatching = () => {
      redis.off('ready', check);
      clearInterval(timer);
    };
  }

  onModuleDestroy(): void {
    this.stopWatching?.();
    this.stopWatching = undefined;
  }

  /**
   * Runs `call`; refused because `queue`'s layout record is gone (a 'LAYOUT 1 <count>' reply or
   * PartitionLayoutError under this process's `count` of more than one partition, partition 0's
   * record absent), records the count again and runs it once more. When the count cannot be
   * recorded (a partition holds a task), the refusal stands, saying the record is gone.
   */
  retrying<T>(queue: string, count: number, call: () => Promise<T>): Promise<T> {
    // A lost record reads as 1: only a process of more partitions is refused for it. The others
    // (every enqueue of an unpartitioned queue) pay no frame for it.
    return count > 1 ? this.retryingLost(queue, count, call) : call();
  }

  private async retryingLost<T>(queue: string, count: number, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      const refusal = error instanceof Error ? PartitionLayoutError.fromReply(queue, error) : error;
      if (!(refusal instanceof PartitionLayoutError) || !refusedUnder(refusal, count)) throw error;
      const lost = await this.lostWhere(queue, count);
      if (!lost) throw error;
      if (lost === 'first') {
        await this.restore(queue, count).catch((failure: Error) => {
          throw lostLayout(queue, count, whyNotRecorded(failure));
        });
      }
      return call();
    }
  }

  /**
   * retrying() for a batch (enqueueMany): `send` answers per item, an Error for a refused one; the
   * items refused because their queue's record is gone are sent once more after it is recorded
   * again (one step per queue), or answer the refusal saying the record is gone.
   */
  async retryingEach<C extends { readonly queue: string }, O>(
    calls: readonly C[],
    countOf: (queue: string) => number,
    send: (calls: readonly C[]) => Promise<O[]>,
    refusalOf: (outcome: O) => Error | undefined,
    refused: (error: Error) => O,
  ): Promise<O[]> {
    const outcomes = await send(calls);
    const lost: number[] = [];
    const gone = new Map<string, Promise<LostRecord>>(); // one look at a queue's records per batch
    for (const [i, outcome] of outcomes.entries()) {
      const { queue } = calls[i];
      const error = refusalOf(outcome);
      const refusal = error && PartitionLayoutError.fromReply(queue, error);
      if (!(refusal instanceof PartitionLayoutError) || !refusedUnder(refusal, countOf(queue))) continue;
      if (!gone.has(queue)) gone.set(queue, this.lostWhere(queue, countOf(queue)));
      if (await gone.get(queue)) lost.push(i);
    }
    if (lost.length === 0) return outcomes;
    // Partition 0's record gone: its queue's step first. Another's (lostWhere wrote it back): none.
    const queues = [...new Set(lost.map((i) => calls[i].queue))];
    const failures = new Map<string, Error>();
    await Promise.all(
      queues.map(async (queue) => {
        if ((await gone.get(queue)) !== 'first') return;
        await this.restore(queue, countOf(queue)).catch((failure: Error) =>
          failures.set(queue, lostLayout(queue, countOf(queue), whyNotRecorded(failure))),
        );
      }),
    );
    const again = lost.filter((i) => !failures.has(calls[i].queue));
    const resent = again.length > 0 ? await send(again.map((i) => calls[i])) : [];
    const merged = [...outcomes];
    again.forEach((i, j) => (merged[i] = resent[j]));
    for (const i of lost) if (failures.has(calls[i].queue)) merged[i] = refused(failures.get(calls[i].queue)!);
    return merged;
  }

  /**
   * Which layout record of `queue` Redis lost, for a refusal under this process's `count`: 'first'
   * when partition 0's is gone (the bootstrap's step records it again: restore), 'others' when it
   * holds `count` and another partition's was gone (written back here: restoreOthers), or false.
   */
  private async lostWhere(queue: string, count: number): Promise<LostRecord> {
    if (await this.recordGone(queue)) return 'first';
    return (await this.restoreOthers(queue, count)) ? 'others' : false;
  }

  /**
   * Records `count` again in each partition p > 0 of `queue` whose record is gone while partition
   * 0's holds `count` (no change under way), and whether there was one. A commit writes the count
   * in every partition of the layout before partition 0's, so such a record was lost (the master
   * of its slot restarted without persistence, or a DEL), not changed. No freeze is needed, as
   * partition 0's loss does (its absent record lets a process of 1 write there): an absent record
   * lets no checked write into p > 0 (only a count of 1 matches it, and that count maps nothing
   * there), and no switch freezes p while it is absent (its record is not the count the switch
   * starts from), so nothing was written under another mapping and no change passed it. SET NX:
   * one that another process put back (then a switch may have moved it on) is left as it is.
   */
  private async restoreOthers(queue: string, count: number): Promise<boolean> {
    const redis = this.connections.commands;
    const { all } = new QueuePartitions(this.config.prefix, queue, count);
    if ((await redis.get(all[0].layout).catch(() => null)) !== String(count)) return false;
    const records = await Promise.all(all.slice(1).map((k) => redis.get(k.layout).catch(() => '')));
    const gone = all.slice(1).filter((_, i) => records[i] === null);
    if (gone.length === 0) return false;
    await Promise.all(gone.map((k) => redis.set(k.layout, String(count), 'NX')));
    this.logger.warn(
      `Queue "${queue}": the layout record of partition(s) ${gone.map((k) => k.partition).join(', ')} was gone from ` +
        `Redis (restarted without persistence, or deleted); recorded ${count} partitions again.`,
    );
    return true;
  }

  /** Partition 0's layout record of `queue` is absent (a key of another type is a record, not none). */
  private async recordGone(queue: string): Promise<boolean> {
    return (await this.connections.commands.get(this.layoutKey(queue)).catch(() => '')) === null;
  }

  /**
   * The bootstrap's layout step for `queue`, one at a time: a call meanwhile shares it. Only for a
   * record still gone when the step reads it: one a deploy wrote since is left to refuse this
   * process as stale (PartitionLayouts.adopt's `onlyLost`).
   */
  private restore(queue: string, count: number): Promise<boolean> {
    let step = this.steps.get(queue);
    if (!step) {
      step = this.layouts.adopt(queue, count, true).finally(() => this.steps.delete(queue));
      this.steps.set(queue, step);
      step.then(
        (recorded) =>
          recorded &&
          this.logger.warn(
            `Queue "${queue}": its layout record was gone from Redis (restarted without persistence, or flushed); ` +
              `recorded ${count} partitions again.`,
          ),
        () => undefined,
      );
    }
    return step;
  }

  /** The reconnect's and the timer's check: a failure is logged, the next check tries again. */
  private async checkQuietly(queue: string): Promise<void> {
    const count = partitionsOf(this.config, queue);
    try {
      if (!(await this.recordGone(queue))) return void (await this.restoreOthers(queue, count));
      await this.restore(queue, count);
    } catch (error) {
      if (this.connections.isClosed) return;
      this.logger.warn(lostLayout(queue, count, whyNotRecorded(error as Error)).message);
    }
  }

  private layoutKey(queue: string): string {
    return new QueueKeys(this.config.prefix, queue).layout;
  }
}

/** Where lostWhere found a layout record gone. */
type LostRecord = 'first' | 'others' | false;

/** A refusal that reads 1 partition where this process, of more, uses `count`. */
function refusedUnder(refusal: PartitionLayoutError, count: number): boolean {
  return count > 1 && refusal.stored === '1' && refusal.configured === count;
}

/**
 * Why the layout step did not record the count: the partition its freeze found holding tasks (its
 * own message gives a booting process's advice, to drain with the old count or keep it, which a
 * lost record must not get), or the step's error as it is.
 */
function whyNotRecorded(failure: Error): string {
  const held = /partition (\d+) still holds tasks \(([^)]*)\)/.exec(failure.message);
  return held ? `partition ${held[1]} holds tasks (${held[2]})` : failure.message;
}

import type { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { newestRecord, readEachPauseRecord, type PauseRecord } from '../client/queue-pause';
import type { QueueKeys } from '../redis/keys';
import { isWrongType } from '../redis/wrong-type';
import { PauseGate } from './pause-gate';

interface Watched {
  readonly partitions: readonly QueueKeys[];
  readonly gate: PauseGate;
  /** The version of the record the gate follows. */
  version: number;
  /**
   * The gate follows an unversioned hold (newestRecord: a record saying paused whose version is
   * not one): no notice orders against it, and only a poll opens it.
   */
  held: boolean;
  /** Under a hold, the newest notice heard since the poll under way began (poll). */
  deferred?: PauseRecord;
  /** Notices applied so far: a poll answered after one may be older than it. */
  notices: number;
}

/**
 * @internal Keeps each consumed queue's PauseGate in step with the fleet's pause records. Two
 * paths, so a pause is seen within one heartbeat interval whatever happens to a message: the
 * notice that pause.lua publishes on the partition's control channel (applied at once if newer),
 * and a poll every heartbeat interval of every partition's record, one pipelined round trip per
 * slot group for all the queues (on one Redis, one in all). A poll is the truth unless a notice
 * came in while it was under way: then the newer of the two stands. A queue whose record cannot
 * be read (Redis refuses it: a key of another type) keeps its last state, and at the start, with
 * none yet, is held paused (it might be) until it reads; the others are applied all the same.
 */
export class PauseWatch {
  private readonly queues = new Map<string, Watched>();
  private timer?: NodeJS.Timeout;
  private polling = false;
  private failures = 0;

  constructor(
    private readonly redis: Redis,
    partitionsByQueue: ReadonlyMap<string, readonly QueueKeys[]>,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {
    for (const [queue, partitions] of partitionsByQueue) {
      this.queues.set(queue, { partitions, gate: new PauseGate(), version: 0, held: false, notices: 0 });
    }
  }

  gate(queue: string): PauseGate {
    const watched = this.queues.get(queue);
    if (!watched) throw new Error(`Queue "${queue}" is not watched for pauses.`);
    return watched.gate;
  }

  /**
   * Reads the records once, then polls. A queue whose record is a key of another type starts held
   * paused; a read that fails otherwise (an ACL, the connection) fails the start: a paused queue
   * must not start runs.
   */
  async start(): Promise<void> {
    await this.poll(true);
    this.timer = setInterval(() => void this.poll(false), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** @internal One poll now, as the timer makes them (the interleaving explorer steps it). */
  pollNow(): Promise<void> {
    return this.poll(false);
  }

  /** A control channel said 'paused:<version>' or 'resumed:<version>'. */
  notice(queue: string, paused: boolean, version: number): void {
    const watched = this.queues.get(queue);
    if (!watched) return;
    watched.notices += 1;
    if (version <= watched.version) return;
    // A hold stays until a poll no longer reads it: a resume's notice may come before the call
    // wrote the bad record's partition (or from a call that failed before it). The notice is
    // kept for the poll under way, whose read may be older than it.
    if (!watched.held) this.apply(watched, { paused, version });
    else if (!watched.deferred || version > watched.deferred.version) watched.deferred = { paused, version };
  }

  private async poll(first: boolean): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    const watched = [...this.queues.entries()];
    const noticesBefore = watched.map(([, w]) => w.notices);
    // A notice heard before this read began is in what it reads (pause.lua publishes it with its write).
    for (const [, w] of watched) w.deferred = undefined;
    try {
      const records = await readEachPauseRecord(
        this.redis,
        watched.flatMap(([, w]) => w.partitions),
      );
      // Each queue goes by its own records: one it cannot read keeps its last state, and the
      // others are applied (a key of another type, one node of a cluster down).
      const unread: string[] = [];
      let failure: Error | undefined;
      let at = 0;
      for (const [i, [queue, w]] of watched.entries()) {
        const own = records.slice(at, (at += w.partitions.length));
        const error = own.find((r): r is Error => r instanceof Error);
        if (error) {
          // Only a key of another type holds the queue: any other refusal (an ACL's NOPERM) or a
          // lost connection fails the start, naming its cause, as a bad setting must.
          if (first && !isWrongType(error)) throw error;
          failure ??= error;
          const keys = w.partitions.filter((_, p) => own[p] instanceof Error).map((k) => k.pause);
          unread.push(...keys);
          if (first) this.holdUnread(queue, w, keys, error);
          continue;
        }
        const newest = newestRecord(own as PauseRecord[]);
        const deferred = w.deferred;
        w.deferred = undefined;
        if (w.held) {
          // Under a hold the poll decides, or a notice heard during it that is newer than its read.
          const later = deferred && !newest.unversioned && deferred.version > newest.version;
          this.apply(w, later ? deferred : newest);
        } else if (w.notices === noticesBefore[i] || newest.version > w.version) this.apply(w, newest);
      }
      if (!failure) this.failures = 0;
      else if (!first) this.failed(`of ${unread.join(', ')} `, failure);
    } catch (error) {
      if (first) throw error;
      this.failed('', error as Error);
    } finally {
      this.polling = false;
    }
  }

  /**
   * A queue whose record Redis refused at the start (a key of another type, anyone may write it):
   * with no state seen yet it is held paused, a queue that might be paused never running; the
   * poll opens it once the record reads (the key deleted: pause() and resume() are refused on it).
   */
  private holdUnread(queue: string, watched: Watched, keys: readonly string[], error: Error): void {
    watched.gate.set(true);
    this.logger.warn(
      `Queue "${queue}" is held paused: its pause record ${keys.join(', ')} cannot be read (${error.message}); it starts once the record reads (delete the key).`,
    );
  }

  /** The gates not read keep the last state seen; the next poll (or a notice) corrects them. */
  private failed(which: string, error: Error): void {
    if (this.failures++ % 10 !== 0) return;
    this.logger.warn(`Reading the pause records ${which}failed (${error.message}); retrying.`);
  }

  private apply(watched: Watched, record: PauseRecord): void {
    watched.version = record.version;
    watched.held = record.unversioned === true;
    watched.gate.set(record.paused);
  }
}

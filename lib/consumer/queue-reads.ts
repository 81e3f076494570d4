import { sendNow } from '../redis/send-now';
import { isWrongType } from '../redis/wrong-type';
import type { Handover, RawEntry } from './intake';
import { monotonicMs } from './lease';
import type { QueueParts } from './queue-context';
import type { SharedStreamReader } from './shared-stream-reader';
import type { Slots } from './slots';

/** @internal The slots a read holds while it waits: the queue's Slots, or one slot group's share. */
export type ReadSlots = Pick<Slots, 'beginRead' | 'endRead' | 'whenFree'>;
import { entriesByStream } from './xread-reply';

/**
 * @internal One queue's share of the process's blocking reads: what its pipeline calls instead of
 * reading on a connection of its own. A read waits for a free slot, then joins the shared read,
 * which answers it once entries arrived for this queue (at most its free slots, held meanwhile),
 * or fails it with the error of the call.
 *
 * A partitioned queue reads all its partitions' streams in each call, with the same COUNT for
 * each (perStreamCount): every read serves every partition an equal share of the free slots, so
 * a busy partition never starves another. The answer is one Handover per partition, in order.
 * On a cluster, one QueueReads reads the partitions of one slot group (see SlotGroupReads).
 */
export class QueueReads {
  private pending?: { resolve(handovers: Handover[]): void; reject(error: unknown): void };
  private closed = false;
  private paused = false;
  /**
   * Its last read got all it asked of a stream, so more is likely waiting: the next read goes
   * alone and without blocking on the command connection (SharedStreamReader.join), which also
   * carries the settles. Sent as the runs finish, it reaches Redis ahead of the settle of those
   * runs (a read on the blocking connection, sent a turn later, came after it), so it takes what
   * was waiting, not what the settle admits. It is not answered sooner for that: Redis replies
   * to the commands it read in one turn of its event loop once it has run them all, so its answer
   * comes with the settle's. Sending the settle only after the read's answer, so that the
   * handlers run while the script does, was measured on the groups drain (2026-12-04) and gained
   * nothing: that drain is bound by Redis's time in the settle script, busy about 95 % of each
   * read-run-settle cycle either way.
   */
  hadBacklog = false;
  readonly streams: readonly string[];

  constructor(
    readonly lanes: readonly QueueParts[],
    private readonly shared: SharedStreamReader,
    readonly slots: ReadSlots = lanes[0].slots,
  ) {
    this.streams = lanes.map((lane) => lane.keys.stream);
  }

  /** Closed or paused: a read under way answers with what it got instead of waiting for more. */
  get answersNow(): boolean {
    return this.closed || this.paused;
  }

  /**
   * COUNT for each of this queue's streams when `free` slots are free: an equal share, so the
   * call never returns more than the free slots. With fewer free slots than partitions it is 1,
   * and one call may return up to (partitions - free) entries more than the free slots: they
   * wait, leased by this worker, until a slot frees (the pipeline still runs at most the
   * concurrency at once). Reading fewer partitions instead would leave a backlog unread while
   * the call blocks on idle ones.
   */
  perStreamCount(free: number): number {
    return Math.max(1, Math.floor(free / this.streams.length));
  }

  /**
   * Creates the consumer groups at the streams' start (tasks enqueued before any worker count).
   * A stream key of another type (anyone can SET one) is left to the reads, which fail naming it
   * (SharedStreamReader.wrongType) until it is deleted, then create its group (NOGROUP): at boot,
   * it would fail every queue of the worker.
   */
  async ensureGroup(): Promise<void> {
    for (const lane of this.lanes) {
      try {
        await lane.redis.xgroup('CREATE', lane.keys.stream, lane.group, '0', 'MKSTREAM');
      } catch (error) {
        if (isWrongType(error)) continue;
        if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
      }
      await listConsumer(lane);
    }
  }

  /**
   * Its streams that hold another type than a stream, read with TYPE after a read refused with
   * WRONGTYPE (which names no key), never on a read that succeeds. One that vanished meanwhile
   * (none) is not: its next read gets NOGROUP, which creates the group again.
   */
  async wrongTypeStreams(): Promise<string[]> {
    const types = await Promise.all(this.lanes.map((lane) => lane.redis.type(lane.keys.stream)));
    return this.streams.filter((_, p) => types[p] !== 'stream' && types[p] !== 'none');
  }

  async read(): Promise<Handover[]> {
    await this.slots.whenFree();
    if (this.answersNow) return [];
    return new Promise<Handover[]>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.shared.join(this);
    });
  }

  /**
   * Reads without blocking, on the command connection, at most the free slots (held meanwhile):
   * a queue whose slots freed up while the shared read blocks without it usually has a backlog,
   * which this takes without cutting the shared read short. Resolves with no entries when there
   * was no free slot or no new entry.
   */
  async readNow(): Promise<Handover[]> {
    const hold = this.slots.beginRead();
    let byStream = new Map<string, RawEntry[]>();
    const sentAt = monotonicMs();
    try {
      byStream = await this.readWithout(hold);
    } finally {
      this.slots.endRead(count(byStream));
    }
    this.noteAnswer(byStream, this.perStreamCount(hold));
    return this.handovers(byStream, sentAt);
  }

  /**
   * A busy slot group's next read (SlotGroupReads): once one of the queue's own slots is free,
   * reads without blocking for every free slot, held only for this round trip. Never blocks
   * holding slots, so a backlog in one group can use every slot while the other groups' reads
   * block on idle streams. Resolves with no entries once the group's streams are empty.
   */
  async readBacklog(): Promise<Handover[]> {
    const slots = this.lanes[0].slots;
    for (;;) {
      await slots.whenFree();
      if (this.answersNow) return this.handovers(new Map(), 0);
      // Entries read without the lease could not start: the blocking read waits for it instead.
      if (!this.lanes[0].lease.isHeld()) return this.read();
      const hold = slots.beginRead();
      if (hold === 0) continue; // another group's read took the slots first
      let byStream = new Map<string, RawEntry[]>();
      const sentAt = monotonicMs();
      try {
        byStream = await this.readWithout(hold);
      } finally {
        slots.endRead(count(byStream), hold);
      }
      return this.handovers(byStream, sentAt);
    }
  }

  /** One non-blocking XREADGROUP of this queue's streams for `hold` free slots (none: no call). */
  private async readWithout(hold: number): Promise<Map<string, RawEntry[]>> {
    if (hold === 0) return new Map();
    const { group, consumer, redis } = this.lanes[0];
    // Past auto-pipelining, which would send it a turn later, behind the settle sent meanwhile.
    const reply = await sendNow(redis, 'xreadgroup', [
      'GROUP',
      group,
      consumer,
      'COUNT',
      this.perStreamCount(hold),
      'STREAMS',
      ...this.streams,
      ...this.streams.map(() => '>'),
    ]);
    return entriesByStream(reply);
  }

  /**
   * Notes whether a read that asked `perStream` entries of each stream got them all from one. Not
   * for a slot group's reads (their slots are SlotGroupReads' doorbell): it reads a busy group's
   * backlog itself (readBacklog).
   */
  noteAnswer(byStream: ReadonlyMap<string, RawEntry[]>, perStream: number): void {
    if (this.slots !== this.lanes[0].slots) return;
    this.hadBacklog = this.streams.some((stream) => (byStream.get(stream)?.length ?? 0) >= perStream);
  }

  /** One Handover per partition, in order, from a reply's entries by stream. */
  handovers(byStream: ReadonlyMap<string, RawEntry[]>, sentAt: number): Handover[] {
    return this.streams.map((stream) => ({ entries: byStream.get(stream) ?? [], sentAt }));
  }

  /**
   * No read after this one. A read already sent still delivers what it got (the call is cut
   * short, so stopping does not wait out blockMs); one not sent yet resolves with nothing.
   */
  close(): void {
    this.closed = true;
    this.shared.leave(this);
  }

  /**
   * The queue was paused: no read until resume(), and a read under way answers now with what it
   * got (a blocking call that includes the queue is cut short, so it stops reading at once).
   */
  pause(): void {
    this.paused = true;
    this.shared.leave(this);
  }

  resume(): void {
    this.paused = false;
  }

  /** Answers the read in progress (the shared reader's side). */
  deliver(handovers: Handover[] = []): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve(handovers);
  }

  fail(error: unknown): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }
}

/** @internal How many entries a reply holds, over its streams. */
export function count(byStream: ReadonlyMap<string, RawEntry[]>): number {
  let n = 0;
  for (const entries of byStream.values()) n += entries.length;
  return n;
}

/**
 * Makes this worker a consumer of the lane's group now, not at its first read that is handed
 * entries (Redis creates none for a read that blocks on an empty stream): the queue's state then
 * lists an idle worker, alive, instead of no consumer at all. Its liveness key exists by now (the
 * lease starts before the consumers), so no sweep drops it as dead. Only a listing depends on it:
 * a refusal (an ACL without XGROUP CREATECONSUMER, a stream gone again) is warned, never fatal.
 */
async function listConsumer(lane: QueueParts): Promise<void> {
  try {
    await lane.redis.xgroup('CREATECONSUMER', lane.keys.stream, lane.group, lane.consumer);
  } catch (error) {
    lane.logger.warn(
      `Queue "${lane.queue}": could not list this worker in its consumer group (XGROUP CREATECONSUMER: ` +
        `${(error as Error).message}); it shows as a consumer once a read hands it tasks.`,
    );
  }
}

import { isWrongType } from '../redis/wrong-type';
import type { Handover } from './intake';
import { monotonicMs, type Lease } from './lease';
import type { QueueParts } from './queue-context';
import { QueueReads, type ReadSlots } from './queue-reads';
import type { UnblockableConnection } from './unblockable-connection';
import { entriesByStream } from './xread-reply';

/** @internal What the shared reader needs besides its connection (the same for every queue). */
export interface SharedReadOptions {
  readonly group: string;
  readonly consumer: string;
  readonly blockMs: number;
  readonly heartbeatIntervalMs: number;
  readonly lease: Lease;
}

/**
 * @internal Every queue of the process read by one blocking connection: one
 * `XREADGROUP ... COUNT n BLOCK ms STREAMS s1 s2 ... > > ...` over the queues whose pipeline is
 * waiting for entries and has free slots. A queue without a free slot is not in the call.
 *
 * COUNT is one number for every stream of a call, so it is the smallest of the included queues'
 * shares (QueueReads.perStreamCount: a queue's free slots over its partitions): no queue receives
 * more entries than it can run. When one queue is busy and the
 * others idle (the common case), the busy one has the fewest free slots, so its reads are as
 * large as with a connection of its own; only several queues busy at once read in smaller bites.
 *
 * A queue that joins while a call blocks without it (its slots freed up, or its last entries
 * were admitted) first reads alone without blocking, on the command connection: a busy queue
 * takes its backlog that way, one read per refill as with a connection of its own, while the
 * call keeps blocking on the idle ones. Only if it finds nothing does it interrupt the call
 * (CLIENT UNBLOCK), and the next call includes it: it never waits out blockMs behind idle
 * queues. Queues that got nothing stay in the next call without a new request. A queue whose
 * last read filled all its free slots reads alone first even when no call blocks: that read
 * goes out at once on the connection that settles, ahead of the settle of the runs that freed
 * its slots (see QueueReads.hadBacklog).
 */
export class SharedStreamReader {
  /** Queues whose read waits for the next call. */
  private readonly waiting = new Set<QueueReads>();
  /** Queues in the call in flight. */
  private inCall = new Set<QueueReads>();
  private running = false;

  constructor(
    private readonly connection: UnblockableConnection,
    private readonly options: SharedReadOptions,
  ) {}

  /**
   * The reads of one queue (or of its partitions in this reader's slot group): their contexts, in
   * partition order, sharing one Slots (or the group's share of them).
   */
  forQueue(lanes: readonly QueueParts[], slots?: ReadSlots): QueueReads {
    return new QueueReads(lanes, this, slots);
  }

  /**
   * A queue's read waits for entries. While a call blocks without it, or when its last read
   * filled its slots, it first reads alone without blocking (its backlog, when it has one);
   * only if that finds nothing does it join the next call (cutting one in flight short).
   */
  join(reads: QueueReads): void {
    if ((this.inCall.size > 0 || reads.hadBacklog) && this.options.lease.isHeld()) {
      void this.readAlone(reads);
      return;
    }
    this.wait(reads);
  }

  private wait(reads: QueueReads): void {
    this.waiting.add(reads);
    if (this.inCall.size > 0) this.connection.interrupt();
    this.run();
  }

  private async readAlone(reads: QueueReads): Promise<void> {
    let handovers: Handover[];
    try {
      handovers = await reads.readNow();
    } catch (error) {
      return this.failed([reads], error);
    }
    if (handovers.some((h) => h.entries.length > 0) || reads.answersNow) reads.deliver(handovers);
    else this.wait(reads);
  }

  /** A queue stops reading (closed or paused): a call it is in returns now and delivers what it got. */
  leave(reads: QueueReads): void {
    if (this.waiting.delete(reads)) reads.deliver();
    if (this.inCall.has(reads)) this.connection.interrupt();
  }

  private run(): void {
    if (this.running) return;
    this.running = true;
    this.loop()
      .catch((error) => {
        for (const reads of this.waiting) reads.fail(error);
        this.waiting.clear();
      })
      .finally(() => {
        this.running = false;
        // A queue that joined after the last check of the loop, before this.
        if (this.waiting.size > 0) this.run();
      });
  }

  private async loop(): Promise<void> {
    while (this.waiting.size > 0) {
      // One turn of the event loop: queues that were just handed entries come back to this call.
      await new Promise((resolve) => setImmediate(resolve));
      // Entries read now could not start (see TaskRunner) and would wait for a recover: wait
      // for the lease instead (after a cut or a Redis restart, until the next beat is confirmed).
      if (!this.options.lease.isHeld()) {
        await new Promise((resolve) => setTimeout(resolve, this.options.heartbeatIntervalMs));
        continue;
      }
      const included = this.takeReadable();
      if (included.size > 0) await this.readOnce(included);
    }
  }

  /** Moves the waiting queues with free slots into a call, holding those slots. */
  private takeReadable(): Map<QueueReads, number> {
    const included = new Map<QueueReads, number>();
    for (const reads of this.waiting) {
      const free = reads.slots.beginRead();
      if (free > 0) {
        included.set(reads, free);
        continue;
      }
      // Full again (a sweep claimed beside): the pipeline waits for a slot before reading again.
      reads.slots.endRead(0);
      reads.deliver();
    }
    this.waiting.clear();
    return included;
  }

  private async readOnce(included: Map<QueueReads, number>): Promise<void> {
    const queues = [...included.keys()];
    const streams = queues.flatMap((q) => q.streams);
    const { group, consumer, blockMs } = this.options;
    const count = Math.min(...queues.map((q) => q.perStreamCount(included.get(q)!)));
    this.inCall = new Set(queues);
    const sentAt = monotonicMs();
    let reply: unknown;
    try {
      reply = await this.connection.call('XREADGROUP', [
        'GROUP',
        group,
        consumer,
        'COUNT',
        count,
        'BLOCK',
        blockMs,
        'STREAMS',
        ...streams,
        ...streams.map(() => '>'),
      ]);
    } catch (error) {
      this.inCall = new Set();
      queues.forEach((q) => q.slots.endRead(0));
      return this.failed(queues, error);
    }
    this.inCall = new Set();
    const byStream = entriesByStream(reply);
    for (const reads of queues) {
      const handovers = reads.handovers(byStream, sentAt);
      const filled = handovers.reduce((n, h) => n + h.entries.length, 0);
      reads.slots.endRead(filled);
      reads.noteAnswer(byStream, count);
      // Every queue's handover carries the call's send time: the fencing proof of its entries.
      if (filled > 0 || reads.answersNow) reads.deliver(handovers);
      else this.waiting.add(reads);
    }
  }

  /**
   * A failed call fails the reads it carried (their pipelines log and retry with backoff). A
   * stream whose group vanished with it (a Redis restarted without persistence, a FLUSHALL, a
   * DEL) fails the whole call, with NOGROUP naming the stream: that queue gets its group back
   * and fails its read, and the others are read again at once. Deleted while the call blocked,
   * it ends the call with UNBLOCKED, naming nothing: the next call finds it. A stream of another
   * type fails it with WRONGTYPE, naming nothing either (see wrongType).
   */
  private async failed(queues: QueueReads[], error: unknown): Promise<void> {
    if (isWrongType(error)) return this.wrongType(queues, error as Error);
    const message = String((error as Error)?.message);
    if (/^UNBLOCKED.*no longer exists/s.test(message)) {
      // A stream of the call was deleted while it blocked: the next call names it (NOGROUP).
      return queues.forEach((q) => (q.answersNow ? q.deliver() : this.waiting.add(q)));
    }
    if (!message.includes('NOGROUP')) return queues.forEach((q) => q.fail(error));
    const named = /No such key '(.*)' or consumer group/s.exec(message)?.[1];
    const lost = queues.filter((q) => named !== undefined && q.streams.includes(named));
    const affected = lost.length > 0 ? lost : queues;
    await Promise.all(affected.map((q) => q.ensureGroup().catch(() => undefined)));
    for (const reads of queues) {
      if (affected.includes(reads)) reads.fail(error);
      else if (reads.answersNow) reads.deliver();
      else this.waiting.add(reads);
    }
  }

  /**
   * WRONGTYPE names no key: a stream of the call holds another type (anyone with Redis access can
   * SET a string there). The queues whose streams are not streams (TYPE of each, none needed for
   * a call of one stream) fail their read, naming the key; the others are read again at once, so
   * one bad key never stops the other queues. Its queue's retries read alone while a call blocks
   * (join). None found (the key changed back meanwhile, TYPE failed): every queue fails.
   */
  private async wrongType(queues: QueueReads[], error: Error): Promise<void> {
    const bad = new Map<QueueReads, string[]>();
    if (queues.length === 1 && queues[0].streams.length === 1) bad.set(queues[0], [...queues[0].streams]);
    else {
      const found = await Promise.all(queues.map((q) => q.wrongTypeStreams().catch(() => [])));
      queues.forEach((q, i) => found[i].length > 0 && bad.set(q, found[i]));
    }
    if (bad.size === 0) return queues.forEach((q) => q.fail(error));
    for (const reads of queues) {
      const keys = bad.get(reads);
      if (keys) reads.fail(new Error(`${error.message}: ${keys.map((k) => `"${k}"`).join(', ')} is not a stream`));
      else if (reads.answersNow) reads.deliver();
      else this.waiting.add(reads);
    }
  }
}

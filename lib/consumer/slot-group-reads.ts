import type { Handover } from './intake';
import type { QueueParts } from './queue-context';
import type { QueueReads, ReadSlots } from './queue-reads';
import type { SharedStreamReader } from './shared-stream-reader';
import type { Slots } from './slots';

/** @internal What a queue's pipeline reads through: one Handover per partition, in order. */
export interface PartitionReads {
  read(): Promise<Handover[]>;
  ensureGroup(): Promise<void>;
  close(): void;
  /** No read until resume(); a read under way answers now with what it got. */
  pause(): void;
  resume(): void;
}

/**
 * @internal The reads of a queue: one QueueReads when its partitions share a slot group (one
 * Redis: always, exactly as before), else one per slot group, each joining the shared reader of
 * its group (a cluster refuses a multi-stream XREADGROUP across slots).
 */
export function partitionReads(
  lanes: readonly QueueParts[],
  groupOf: (stream: string) => number,
  readerOf: (stream: string) => SharedStreamReader,
): PartitionReads {
  const byGroup = new Map<number, number[]>();
  lanes.forEach((lane, p) => {
    const group = groupOf(lane.keys.stream);
    byGroup.set(group, [...(byGroup.get(group) ?? []), p]);
  });
  if (byGroup.size === 1) return readerOf(lanes[0].keys.stream).forQueue(lanes);
  const doorbell = new Doorbell(lanes[0].slots);
  return new SlotGroupReads(
    [...byGroup.values()].map((partitions) => {
      const own = partitions.map((p) => lanes[p]);
      return { partitions, reads: readerOf(own[0].keys.stream).forQueue(own, doorbell), busy: false };
    }),
    lanes.length,
  );
}

/**
 * @internal The slots of a slot group's blocking read: one entry per stream (COUNT 1), holding
 * no slot. A blocked read cannot be resized, so one holding slots on an idle group would keep
 * them from a busy group; and with fewer slots than groups, a group whose read waits for a slot
 * would leave its entries unread until another group's read returned (up to blockMs). A doorbell
 * read is sent whether or not a slot is free: when it rings with none free, its entries (at most
 * one per stream of the group) wait, leased by this worker, for a slot like any entry read past
 * the free slots (the pipeline still runs at most the concurrency at once). The group then reads
 * its backlog without blocking (QueueReads.readBacklog), with the real free slots.
 */
class Doorbell implements ReadSlots {
  constructor(private readonly slots: Slots) {}

  /** The read's COUNT per stream is 1, and it holds nothing. */
  beginRead(): number {
    return 1;
  }

  endRead(filled: number): void {
    this.slots.endRead(filled, 0);
  }

  whenFree(): Promise<void> {
    return Promise.resolve();
  }
}

type Answer = { readonly group: SlotGroup; readonly handovers: Handover[] };
type Failure = { readonly group: SlotGroup; readonly error: unknown };
type Result = Answer | Failure;

interface SlotGroup {
  /** The queue's partitions this group reads, in the order of its reads' handovers. */
  readonly partitions: readonly number[];
  readonly reads: QueueReads;
  /** Its last read brought entries: the next reads its backlog without blocking. */
  busy: boolean;
}

/**
 * @internal A queue whose partitions span slot groups: each group's read is in flight at once,
 * and read() answers with whatever arrived first (with every answer that arrived meanwhile),
 * one Handover per partition, empty for the others. A group's read still in flight stays so:
 * the next read() waits for it again instead of sending another.
 *
 * An idle group's read blocks as a Doorbell, holding no slot; a busy group (its last read
 * brought entries) reads its backlog without blocking, until a read finds its streams empty.
 * So one busy partition can use all the slots. Busy groups take turns: each backlog read takes
 * every slot free when it wakes, and waits for the next at the back of the line (Slots wakes
 * waiters in order), so freed slots go to the busy groups in rotation, in reads as large as
 * on one Redis.
 */
export class SlotGroupReads implements PartitionReads {
  private readonly inFlight = new Map<SlotGroup, Promise<void>>();
  private ready: Result[] = [];
  private arrived?: () => void;
  private closed = false;

  constructor(
    private readonly groups: readonly SlotGroup[],
    private readonly partitions: number,
  ) {}

  async ensureGroup(): Promise<void> {
    for (const { reads } of this.groups) await reads.ensureGroup();
  }

  async read(): Promise<Handover[]> {
    if (!this.closed) for (const group of this.groups) if (!this.inFlight.has(group)) this.send(group);
    while (this.ready.length === 0 && this.inFlight.size > 0 && !this.closed) {
      await new Promise<void>((resolve) => (this.arrived = resolve));
    }
    // Stopping: the reads cut short still deliver what they got, to be run like any other.
    if (this.closed) await Promise.all(this.inFlight.values());
    return this.take();
  }

  /** No read after this one; the reads in flight return now with what they got. */
  close(): void {
    this.closed = true;
    for (const { reads } of this.groups) reads.close();
    this.arrived?.();
  }

  pause(): void {
    for (const { reads } of this.groups) reads.pause();
  }

  resume(): void {
    for (const { reads } of this.groups) reads.resume();
  }

  private send(group: SlotGroup): void {
    const read = group.busy ? group.reads.readBacklog() : group.reads.read();
    const done = read.then(
      (handovers) => {
        group.busy = handovers.some((h) => h.entries.length > 0);
        this.ready.push({ group, handovers });
      },
      (error: unknown) => {
        group.busy = false;
        this.ready.push({ group, error });
      },
    );
    this.inFlight.set(
      group,
      done.then(() => {
        this.inFlight.delete(group);
        this.arrived?.();
      }),
    );
  }

  /**
   * Merges the answers that arrived. Entries are never dropped for an error (they hold slots and
   * are leased to this worker): a failed group's error waits for the next read() when others
   * brought entries.
   */
  private take(): Handover[] {
    const results = this.ready;
    this.ready = [];
    const answers = results.filter((r): r is Answer => 'handovers' in r);
    const failures = results.filter((r): r is Failure => 'error' in r);
    const delivered = answers.some((r) => r.handovers.some((h) => h.entries.length > 0));
    if (failures.length > 0 && !delivered) throw failures[0].error;
    this.ready.push(...failures);
    const merged: Handover[] = Array.from({ length: this.partitions }, () => ({ entries: [], sentAt: 0 }));
    for (const { group, handovers } of answers) {
      handovers.forEach((handover, i) => (merged[group.partitions[i]] = handover));
    }
    return merged;
  }
}

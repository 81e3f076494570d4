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
  const slots = lanes[0].slots;
  const groups = [...byGroup.values()];
  const quotas = shares(
    slots.capacity,
    groups.map((partitions) => partitions.length),
  );
  return new SlotGroupReads(
    groups.map((partitions, g) => {
      const own = partitions.map((p) => lanes[p]);
      return { partitions, reads: readerOf(own[0].keys.stream).forQueue(own, new SlotShare(slots, quotas[g])) };
    }),
    lanes.length,
  );
}

/**
 * Splits `capacity` slots between groups in proportion to their partitions (largest remainders
 * first), at least 1 each: with nothing running, every group's read gets its share at once, and
 * together they hold no more than the capacity (unless there are more groups than slots).
 */
function shares(capacity: number, sizes: number[]): number[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const exact = sizes.map((n) => (capacity * n) / total);
  const quotas = exact.map(Math.floor);
  let left = capacity - quotas.reduce((a, b) => a + b, 0);
  for (const g of exact.map((_, g) => g).sort((a, b) => exact[b] - quotas[b] - (exact[a] - quotas[a]))) {
    if (left-- <= 0) break;
    quotas[g] += 1;
  }
  return quotas.map((q) => Math.max(1, q));
}

/**
 * @internal One slot group's share of a queue's slots: its reads hold at most `quota` of the free
 * slots, beside the holds of the other groups' reads (Slots adds holds up), so reads blocking on
 * idle groups at once never hold more than the queue's free slots, and each group gets its own
 * share. With fewer slots than groups, a group may find none free: it reads once one frees (an
 * idle group's read holds its slot until it returns, at most blockMs).
 */
class SlotShare implements ReadSlots {
  private hold = 0;

  constructor(
    private readonly slots: Slots,
    private readonly quota: number,
  ) {}

  beginRead(): number {
    this.hold = this.slots.beginRead(this.quota);
    return this.hold;
  }

  endRead(filled: number): void {
    const hold = this.hold;
    this.hold = 0;
    this.slots.endRead(filled, hold);
  }

  whenFree(): Promise<void> {
    return this.slots.whenFree();
  }
}

type Answer = { readonly group: SlotGroup; readonly handovers: Handover[] };
type Failure = { readonly group: SlotGroup; readonly error: unknown };
type Result = Answer | Failure;

interface SlotGroup {
  /** The queue's partitions this group reads, in the order of its reads' handovers. */
  readonly partitions: readonly number[];
  readonly reads: QueueReads;
}

/**
 * @internal A queue whose partitions span slot groups: each group's read is in flight at once,
 * and read() answers with whatever arrived first (with every answer that arrived meanwhile),
 * one Handover per partition, empty for the others. A group's read still in flight stays so:
 * the next read() waits for it again instead of sending another.
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

  private send(group: SlotGroup): void {
    const done = group.reads.read().then(
      (handovers) => void this.ready.push({ group, handovers }),
      (error: unknown) => void this.ready.push({ group, error }),
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

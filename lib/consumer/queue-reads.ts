import type { Handover, RawEntry } from './intake';
import { monotonicMs } from './lease';
import type { QueueParts } from './queue-context';
import type { SharedStreamReader } from './shared-stream-reader';

const NOTHING: Handover = { entries: [], sentAt: 0 };

/**
 * @internal One queue's share of the process's blocking reads: what its pipeline calls instead of
 * reading on a connection of its own. A read waits for a free slot, then joins the shared read,
 * which answers it once entries arrived for this queue (at most its free slots, held meanwhile),
 * or fails it with the error of the call.
 */
export class QueueReads {
  private pending?: { resolve(handover: Handover): void; reject(error: unknown): void };
  private closed = false;

  constructor(
    readonly ctx: QueueParts,
    private readonly shared: SharedStreamReader,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Creates the consumer group at the stream's start (tasks enqueued before any worker count). */
  async ensureGroup(): Promise<void> {
    try {
      await this.ctx.redis.xgroup('CREATE', this.ctx.keys.stream, this.ctx.group, '0', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
    }
  }

  async read(): Promise<Handover> {
    await this.ctx.slots.whenFree();
    if (this.closed) return NOTHING;
    return new Promise<Handover>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.shared.join(this);
    });
  }

  /**
   * Reads without blocking, on the command connection, at most the free slots (held meanwhile):
   * a queue whose slots freed up while the shared read blocks without it usually has a backlog,
   * which this takes without cutting the shared read short. Resolves with nothing when there
   * was no free slot or no new entry.
   */
  async readNow(): Promise<Handover> {
    const { slots, keys, group, consumer, redis } = this.ctx;
    const count = slots.beginRead();
    let entries: RawEntry[] = [];
    const sentAt = monotonicMs();
    try {
      if (count > 0) {
        const reply = (await redis.xreadgroup(
          'GROUP',
          group,
          consumer,
          'COUNT',
          count,
          'STREAMS',
          keys.stream,
          '>',
        )) as [string, RawEntry[]][] | null;
        entries = reply?.[0]?.[1] ?? [];
      }
    } finally {
      slots.endRead(entries.length);
    }
    return { entries, sentAt };
  }

  /**
   * No read after this one. A read already sent still delivers what it got (the call is cut
   * short, so stopping does not wait out blockMs); one not sent yet resolves with nothing.
   */
  close(): void {
    this.closed = true;
    this.shared.leave(this);
  }

  /** Answers the read in progress (the shared reader's side). */
  deliver(handover: Handover = NOTHING): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve(handover);
  }

  fail(error: unknown): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }
}
